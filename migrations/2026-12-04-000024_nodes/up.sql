-- Every Belfry process (node) sharing this database, kept alive by its heartbeat. What a node
-- claims from the outbox carries its id: while the node's heartbeat is fresh (its lease), no
-- other node touches those rows; once it is stale, any node recovers them.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sockets INTEGER NOT NULL DEFAULT 0,
    rooms INTEGER NOT NULL DEFAULT 0,
    -- Whether the node reaches Redis: 'off' (not configured), 'up', 'down'.
    redis TEXT NOT NULL DEFAULT 'off',
    stopped_at TIMESTAMPTZ
);

ALTER TABLE message_recipients ADD COLUMN claimed_by TEXT;
