ALTER TABLE message_recipients DROP COLUMN claimed_by;
DROP TABLE nodes;
