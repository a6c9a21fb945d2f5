DROP INDEX messages_sender_recent;
