-- Sessions of the web interface (package web). A browser holds a random
-- secret in a cookie; the catalog keeps only its SHA-256, so a copy of the
-- catalog logs nobody in. Sessions live here rather than in one process's
-- memory so that a login holds on every replica. A removed user's sessions
-- go with the user (ON DELETE CASCADE); a changed password ends them
-- because password_check (the SHA-256 of the password hash at login) no
-- longer matches. Times are Unix microseconds (UTC).

CREATE TABLE web_sessions (
    id             TEXT    PRIMARY KEY,  -- hex SHA-256 of the cookie's secret
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf           TEXT    NOT NULL,     -- the session's CSRF token
    password_check TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    remote_addr    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- The web interface's project list refreshes from the projects whose last
-- serial moved since it last looked (Catalog.ProjectListings).
CREATE INDEX projects_last_serial ON projects (last_serial);
