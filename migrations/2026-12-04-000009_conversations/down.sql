DROP INDEX message_recipients_phone;
DROP TABLE unrouted_replies;
DROP TABLE conversation_entries;
DROP TABLE conversations;
ALTER TABLE churches DROP COLUMN from_number;
