-- Leases (index/lease.go): a name held by one holder at a time until it
-- expires, so that replicas sharing the catalog do a thing once: fetch a
-- mirrored file from the upstream ("mirror:PROJECT/FILENAME"), run a
-- periodic job ("job:retention", "job:sync:NAME"). A holder is one process
-- (its host, pid and a random part); it renews its lease while it works and
-- deletes it when done, and a lease whose holder died is taken over once it
-- has expired. Times are Unix microseconds (UTC). Nothing here outlives a
-- restart of every replica in a useful way: a backup or copy may leave the
-- table empty.

CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
