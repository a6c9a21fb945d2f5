DROP INDEX messages_church_status_history;
DROP INDEX messages_church_history;
DROP INDEX messages_sender_recent;
