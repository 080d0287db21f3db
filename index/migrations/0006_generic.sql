-- Generic files (issue 19): versioned archives that are not Python
-- distributions (vendor DLL bundles, application zips), uploaded with
-- PUT /generic/NAME/VERSION/FILE. Names are PEP 503 normalized and live in
-- their own namespace beside projects, with their own owners. Versions are
-- PEP 440, stored as the normalized string and their canonical form (which
-- identifies a version, as for releases). The bytes live in the blob store
-- under content-addressed keys, shared with any other file of the same
-- content. Times are Unix microseconds (UTC).

CREATE TABLE generic_packages (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,   -- PEP 503 normalized
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_serial  INTEGER NOT NULL
);

CREATE TABLE generic_owners (
    package_id INTEGER NOT NULL REFERENCES generic_packages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (package_id, user_id)
);

CREATE TABLE generic_versions (
    id         INTEGER PRIMARY KEY,
    package_id INTEGER NOT NULL REFERENCES generic_packages (id) ON DELETE CASCADE,
    version    TEXT    NOT NULL,
    canonical  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (package_id, canonical)
);

CREATE TABLE generic_files (
    id          INTEGER PRIMARY KEY,
    version_id  INTEGER NOT NULL REFERENCES generic_versions (id) ON DELETE CASCADE,
    package_id  INTEGER NOT NULL REFERENCES generic_packages (id) ON DELETE CASCADE,
    filename    TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    blob_key    TEXT    NOT NULL,
    upload_time INTEGER NOT NULL,
    uploaded_by TEXT    NOT NULL DEFAULT '',
    UNIQUE (version_id, filename)
);
CREATE INDEX generic_files_package ON generic_files (package_id, filename);
CREATE INDEX generic_files_blob ON generic_files (blob_key);
