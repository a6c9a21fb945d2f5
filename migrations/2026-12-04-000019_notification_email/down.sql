DROP INDEX notifications_created;
DROP INDEX notification_deliveries_due;
ALTER TABLE notification_deliveries
    DROP COLUMN sent_at, DROP COLUMN attempts, DROP COLUMN plan, DROP COLUMN due_at;
