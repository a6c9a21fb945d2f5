DROP INDEX messages_sender_recent;
DROP INDEX messages_church_recent;
