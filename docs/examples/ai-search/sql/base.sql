-- The contacts schema as it was before the AI search launch, with a few sample rows.
-- The demo loads this file first, then up.sql.
CREATE TABLE contacts (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  company text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO contacts (name, email, company) VALUES
  ('Ada Lovelace', 'ada@example.com', 'Analytical Engines'),
  ('Grace Hopper', 'grace@example.com', 'Compilers Inc'),
  ('Edsger Dijkstra', 'edsger@example.com', 'Shortest Paths'),
  ('Barbara Liskov', 'barbara@example.com', 'Substitution Labs'),
  ('Ken Thompson', 'ken@example.com', 'Unix Works');
