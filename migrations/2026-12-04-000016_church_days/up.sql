-- A message whose recipients are all settled but not all final (some `delivery_unconfirmed`:
-- carriers that never confirm) stays `sending`, yet its summary no longer changes: the summary
-- job finds such messages by this index once they have been quiet for a while.
CREATE INDEX messages_sending_unsummarized ON messages (id)
    WHERE sent_count IS NULL AND status = 'sending';

-- A summarized message's figures are added into its church's day (the day it went out, in the
-- church's time zone when it was summarized), so that a year is at most 366 rows to read.
-- What each summary added is kept on the message, to be taken back out if it is summarized
-- again.
ALTER TABLE messages ADD COLUMN summary_day DATE;
ALTER TABLE messages ADD COLUMN summary_recipients INTEGER;
ALTER TABLE messages ADD COLUMN summary_sent INTEGER;
ALTER TABLE messages ADD COLUMN summary_delivered INTEGER;
ALTER TABLE messages ADD COLUMN summary_failed INTEGER;

-- The church's messages not summarized now, found by when they went out.
CREATE INDEX messages_church_unsummarized ON messages (church_id, (COALESCE(send_at, created_at)))
    WHERE sent_count IS NULL;

CREATE TABLE church_days (
    church_id BIGINT NOT NULL REFERENCES churches (id),
    day DATE NOT NULL,
    recipients BIGINT NOT NULL,
    sent BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    PRIMARY KEY (church_id, day)
);

CREATE TABLE church_day_failures (
    church_id BIGINT NOT NULL REFERENCES churches (id),
    day DATE NOT NULL,
    code TEXT NOT NULL,
    example TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (church_id, day, code)
);
