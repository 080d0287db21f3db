-- API tokens and project ownership.

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash         TEXT    NOT NULL UNIQUE,      -- hex SHA-256 of the secret
    scope        TEXT    NOT NULL,             -- read, upload or admin
    projects     TEXT    NOT NULL DEFAULT '',  -- space-separated normalized names; '' = any
    description  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,   -- 0 = never
    last_used_at INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE project_owners (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, user_id)
);

-- Projects uploaded before ownership existed belong to their uploaders.
-- (WHERE true: SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT.)
INSERT INTO project_owners (project_id, user_id)
    SELECT DISTINCT f.project_id, u.id FROM files f JOIN users u ON u.name = f.uploaded_by WHERE true
    ON CONFLICT DO NOTHING;
