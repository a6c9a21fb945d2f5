DROP TRIGGER members_opt_out_tally ON members;
DROP FUNCTION tally_opt_out();
DROP FUNCTION tally(BIGINT, INTEGER, INTEGER);
DROP TABLE church_tallies;
DROP TABLE message_failure_codes;
DROP INDEX messages_to_summarize;
ALTER TABLE messages DROP COLUMN sent_count;
