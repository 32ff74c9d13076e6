-- Down migration of the AI search launch: removes everything up.sql added. The postgres driver
-- runs the whole file in one transaction, so either all of it applies or none of it does.
-- IF EXISTS keeps a second run harmless after a partial manual cleanup.
DROP TRIGGER IF EXISTS contacts_ai_reindex ON contacts;
DROP FUNCTION IF EXISTS ai_search_mark_for_reindex();
DROP TABLE IF EXISTS ai_search_queries;
DROP TABLE IF EXISTS contact_embeddings;
ALTER TABLE contacts
  DROP COLUMN IF EXISTS ai_summary,
  DROP COLUMN IF EXISTS ai_indexed_at;
