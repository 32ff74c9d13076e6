-- The AI search launch's migration: summary columns on contacts, an embeddings table, a query
-- log, and a trigger that marks a contact for re-indexing when it changes. The demo applies it
-- after base.sql, with sample data, so that there is something to roll back.
ALTER TABLE contacts
  ADD COLUMN ai_summary text,
  ADD COLUMN ai_indexed_at timestamptz;

CREATE TABLE contact_embeddings (
  contact_id bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
  model text NOT NULL,
  embedding real[] NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ai_search_queries (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL,
  query text NOT NULL,
  result_count integer NOT NULL,
  latency_ms integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ai_search_queries_created_at_idx ON ai_search_queries (created_at);

CREATE FUNCTION ai_search_mark_for_reindex() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.ai_indexed_at := NULL;
  RETURN NEW;
END;
$$;

CREATE TRIGGER contacts_ai_reindex
  BEFORE UPDATE OF name, email, company ON contacts
  FOR EACH ROW EXECUTE FUNCTION ai_search_mark_for_reindex();

UPDATE contacts
   SET ai_summary = 'Works at ' || company || '; reachable at ' || email,
       ai_indexed_at = now();

INSERT INTO contact_embeddings (contact_id, model, embedding)
SELECT id, 'demo-embedding-v1', ARRAY[id * 0.1, id * 0.2, id * 0.3]::real[]
  FROM contacts;

INSERT INTO ai_search_queries (user_id, query, result_count, latency_ms) VALUES
  (1, 'people who build compilers', 1, 2840),
  (1, 'graph algorithm experts', 1, 3120),
  (2, 'who knows Unix', 1, 4975);
