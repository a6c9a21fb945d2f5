DROP TABLE church_day_failures;
DROP TABLE church_days;
DROP INDEX messages_church_unsummarized;
ALTER TABLE messages DROP COLUMN summary_failed;
ALTER TABLE messages DROP COLUMN summary_delivered;
ALTER TABLE messages DROP COLUMN summary_sent;
ALTER TABLE messages DROP COLUMN summary_recipients;
ALTER TABLE messages DROP COLUMN summary_day;
DROP INDEX messages_sending_unsummarized;
