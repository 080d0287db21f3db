-- Which upstream the mirror's pages come from (issue 20): a mirror started
-- against another upstream refuses to mix its pages with these unless told
-- to keep or drop them. mirror_origin has at most one row: the upstream the
-- cache belongs to (its simple-API root, without credentials), recorded
-- when the first page is cached or the operator switches. Each page also
-- keeps the upstream it came from ('' unknown: cached before this
-- migration, or imported).

CREATE TABLE mirror_origin (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    upstream   TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
);

ALTER TABLE mirror_projects ADD COLUMN upstream TEXT NOT NULL DEFAULT '';
