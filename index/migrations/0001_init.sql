-- The hosted catalog: projects, releases, files, users and the audit log.
-- Times are Unix microseconds (UTC). Versions are stored as the normalized
-- string (str(Version)) and their canonical form (canonicalize_version),
-- which identifies a release: 1.0 and 1.0.0 are one release.

CREATE TABLE serial (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO serial (id, value) VALUES (1, 0);

CREATE TABLE projects (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,   -- PEP 503 normalized
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_serial  INTEGER NOT NULL
);

CREATE TABLE releases (
    id            INTEGER PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version       TEXT    NOT NULL,
    canonical     TEXT    NOT NULL,
    yanked        INTEGER NOT NULL DEFAULT 0,
    yanked_reason TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    metadata      TEXT    NOT NULL DEFAULT '{}', -- JSON: core metadata of the first file
    UNIQUE (project_id, canonical)
);

CREATE TABLE files (
    id              INTEGER PRIMARY KEY,
    release_id      INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    project_id      INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    filename        TEXT    NOT NULL UNIQUE,
    packagetype     TEXT    NOT NULL,
    python_version  TEXT    NOT NULL DEFAULT '',
    requires_python TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    md5             TEXT    NOT NULL,
    blake2b_256     TEXT    NOT NULL,
    blob_key        TEXT    NOT NULL,
    metadata_key    TEXT    NOT NULL DEFAULT '',
    metadata_sha256 TEXT    NOT NULL DEFAULT '',
    upload_time     INTEGER NOT NULL,
    uploaded_by     TEXT    NOT NULL DEFAULT '',
    comment         TEXT    NOT NULL DEFAULT '',
    commit_sha      TEXT    NOT NULL DEFAULT '',
    branch          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX files_project ON files (project_id);
CREATE INDEX files_release ON files (release_id);
CREATE INDEX files_blob ON files (blob_key);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    project     TEXT    NOT NULL DEFAULT '',
    version     TEXT    NOT NULL DEFAULT '',
    filename    TEXT    NOT NULL DEFAULT '',
    remote_addr TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_project ON audit (project, id);
CREATE INDEX audit_actor ON audit (actor, id);
