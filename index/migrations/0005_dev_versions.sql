-- Dev numbers handed out to CI builds (scmversion --index): strictly
-- increasing per project and base version, one per commit.

CREATE TABLE dev_versions (
    project    TEXT    NOT NULL,  -- normalized; the project may not exist yet
    base       TEXT    NOT NULL,  -- canonical base version (1.2.4.0 -> 1.2.4)
    number     INTEGER NOT NULL,
    version    TEXT    NOT NULL,  -- canonical base + ".dev" + number
    commit_sha TEXT    NOT NULL,
    branch     TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project, base, number),
    UNIQUE (project, base, commit_sha)
);
CREATE INDEX dev_versions_version ON dev_versions (project, version);
