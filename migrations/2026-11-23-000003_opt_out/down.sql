DROP INDEX members_phone;
ALTER TABLE members DROP COLUMN opted_out_at;
