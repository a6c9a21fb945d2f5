DROP TABLE dead_letters;
DROP TABLE webhook_events;
DROP TABLE message_recipients;
DROP TABLE messages;
DROP TABLE members;
DROP TABLE users;
DROP TABLE churches;
