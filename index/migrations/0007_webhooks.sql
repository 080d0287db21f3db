-- Webhook deliveries (package index/webhook). The dispatcher reads the
-- audit log after the last entry it handled (webhook_cursor) and queues one
-- delivery per matching [[webhooks]] entry; deliveries are retried until
-- they succeed or run out of attempts, and only the newest few of each hook
-- are kept. Times are Unix microseconds (UTC), 0 meaning never.

CREATE TABLE webhook_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    audit_id   INTEGER NOT NULL,   -- the last audit entry handled
    updated_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    uuid            TEXT    NOT NULL UNIQUE,       -- sent as X-Pyindex-Delivery
    hook            TEXT    NOT NULL,              -- the hook's name in the configuration
    audit_id        INTEGER NOT NULL,              -- the change it reports
    event           TEXT    NOT NULL,
    project         TEXT    NOT NULL DEFAULT '',
    version         TEXT    NOT NULL DEFAULT '',
    filename        TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL,              -- JSON: the event's fields (index/webhook Payload)
    state           TEXT    NOT NULL,              -- pending, delivered or failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,    -- HTTP status of the last attempt; 0: none
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,    -- pending: when it is due (or its lease ends)
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (hook, audit_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (hook, state, next_attempt_at);
