ALTER TABLE message_recipients DROP COLUMN body;
