-- Notifications' SMS deliveries keep the carrier's id of the text that was sent, so that the
-- carrier's delivery reports (webhooks) find them.
ALTER TABLE notification_deliveries ADD COLUMN provider_message_id TEXT;
CREATE UNIQUE INDEX notification_deliveries_provider
    ON notification_deliveries (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
