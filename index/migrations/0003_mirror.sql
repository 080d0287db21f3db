-- The mirror's cache of upstream pages (pyindex/mirror). Pages live here so
-- that they survive restarts; the files' bytes live in the blob store under
-- content-addressed keys, shared with hosted files of the same content.
-- Times are Unix microseconds (UTC), 0 meaning unknown.

CREATE TABLE mirror_projects (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,       -- PEP 503 normalized
    serial          INTEGER NOT NULL,              -- catalog serial of the last change to the page
    upstream_serial INTEGER NOT NULL DEFAULT 0,    -- the upstream's X-PyPI-Last-Serial; 0 unknown
    etag            TEXT    NOT NULL DEFAULT '',
    last_modified   TEXT    NOT NULL DEFAULT '',
    page_url        TEXT    NOT NULL DEFAULT '',   -- final URL of the upstream page
    versions        TEXT    NOT NULL DEFAULT '[]', -- JSON list, as the upstream gave it
    fetched_at      INTEGER NOT NULL,              -- last answer from the upstream (200 or 304)
    changed_at      INTEGER NOT NULL
);

CREATE TABLE mirror_files (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES mirror_projects (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,            -- order on the upstream page
    filename          TEXT    NOT NULL,
    url               TEXT    NOT NULL,            -- absolute upstream URL, no fragment
    hashes            TEXT    NOT NULL DEFAULT '{}',
    requires_python   TEXT    NOT NULL DEFAULT '',
    size              INTEGER NOT NULL DEFAULT 0,  -- 0: unknown until cached
    upload_time       INTEGER NOT NULL DEFAULT 0,
    first_seen        INTEGER NOT NULL,
    yanked            INTEGER NOT NULL DEFAULT 0,
    yanked_reason     TEXT    NOT NULL DEFAULT '',
    upstream_metadata TEXT    NOT NULL DEFAULT '', -- sha256 of the upstream's PEP 658 file
    blob_key          TEXT    NOT NULL DEFAULT '', -- '' until cached
    sha256            TEXT    NOT NULL DEFAULT '',
    metadata_key      TEXT    NOT NULL DEFAULT '',
    metadata_sha256   TEXT    NOT NULL DEFAULT '',
    cached_at         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, filename)
);
CREATE INDEX mirror_files_blob ON mirror_files (blob_key);
CREATE INDEX mirror_files_metadata ON mirror_files (metadata_key);
