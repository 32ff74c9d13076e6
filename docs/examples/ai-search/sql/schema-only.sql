-- Schema-only rollback: the contacts table gets back the shape the previous release expects,
-- and the feature's tables and column values move to the ai_search_archive schema, where they
-- stay for the investigation. Runs in one transaction (see down.sql).
DROP TRIGGER IF EXISTS contacts_ai_reindex ON contacts;
DROP FUNCTION IF EXISTS ai_search_mark_for_reindex();

CREATE SCHEMA IF NOT EXISTS ai_search_archive;
ALTER TABLE contact_embeddings SET SCHEMA ai_search_archive;
ALTER TABLE ai_search_queries SET SCHEMA ai_search_archive;

CREATE TABLE ai_search_archive.contact_ai_columns AS
SELECT id AS contact_id, ai_summary, ai_indexed_at
  FROM contacts
 WHERE ai_summary IS NOT NULL OR ai_indexed_at IS NOT NULL;

ALTER TABLE contacts
  DROP COLUMN ai_summary,
  DROP COLUMN ai_indexed_at;
