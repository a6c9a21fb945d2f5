-- Email deliveries of notifications: each is looked at again when it is due (sent at once, when
-- still unread after the fallback delay, at the end of quiet hours, in the next digest), and
-- retried with backoff. Claiming one moves `due_at` ahead by a lease, so a node that dies
-- mid-send leaves it to be claimed again, and two nodes never hold it at once.
ALTER TABLE notification_deliveries
    ADD COLUMN due_at TIMESTAMPTZ,
    -- Why it goes when it does: 'now', 'offline' (at once unless the user has a socket open,
    -- then as 'unread'), 'unread' (only if still unread when due), 'digest'.
    ADD COLUMN plan TEXT CHECK (plan IN ('now', 'offline', 'unread', 'digest')),
    ADD COLUMN attempts INT NOT NULL DEFAULT 0,
    ADD COLUMN sent_at TIMESTAMPTZ;

CREATE INDEX notification_deliveries_due ON notification_deliveries (due_at)
    WHERE status IN ('pending', 'held');

-- Notification statistics read the notifications made in a period.
CREATE INDEX notifications_created ON notifications (created_at);
