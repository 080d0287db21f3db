-- What each write transaction changed (issue 18), so that a process's
-- caches forget only the projects another process (or this one) changed,
-- not everything at every commit. Every write that bumps the serial, or
-- changes what a cache keeps of a project without bumping it (a mirror
-- page revalidated, a mirrored file cached), adds one row per project it
-- changed, in the same transaction: id numbers the rows without a gap
-- (the writers of both engines run one at a time and take MAX(id) + 1);
-- serial is the global serial after the bump (0: the serial did not move);
-- project is the normalized name, '' when anything may have changed (the
-- mirror's origin switched); origin tells the writing process (a random
-- number per opened catalog), so that a process measures how long other
-- processes' changes took to reach it; at is the commit's time in Unix
-- microseconds. Writers delete rows older than the last few thousand.

CREATE TABLE change_log (
    id      INTEGER PRIMARY KEY,
    serial  INTEGER NOT NULL,
    project TEXT    NOT NULL,
    origin  INTEGER NOT NULL,
    at      INTEGER NOT NULL
);
