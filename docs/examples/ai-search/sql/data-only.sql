-- Data-only rollback: deletes what the feature wrote and keeps its schema, so that the feature
-- can be relaunched after a fix without a new migration. Runs in one transaction (see down.sql).
TRUNCATE contact_embeddings, ai_search_queries;

UPDATE contacts
   SET ai_summary = NULL,
       ai_indexed_at = NULL
 WHERE ai_summary IS NOT NULL OR ai_indexed_at IS NOT NULL;
