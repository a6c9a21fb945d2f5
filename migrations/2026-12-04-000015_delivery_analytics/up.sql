-- Delivery analytics (GET /api/analytics/delivery) read kept figures, never a year of recipient
-- rows: each message counts towards the day it went out (its send_at, else when accepted).

-- Once every recipient of a message is final its figures no longer change: a summary then
-- keeps how many the carrier accepted (sent_count, NULL until summarized) and its failures by
-- code. A message that is sent again (a dead letter retried) loses its summary until it is
-- final again.
ALTER TABLE messages ADD COLUMN sent_count INTEGER;
CREATE INDEX messages_to_summarize ON messages (id)
    WHERE sent_count IS NULL AND status IN ('delivered', 'failed', 'completed');

CREATE TABLE message_failure_codes (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    -- One of the reasons given under this code, as the carrier worded it.
    example TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (message_id, code)
);

-- Texts back and opt-outs, counted per church and quarter of an hour: every time zone's day
-- starts on a quarter hour, so any church's days and weeks can be summed from them.
CREATE TABLE church_tallies (
    church_id BIGINT NOT NULL REFERENCES churches (id),
    quarter TIMESTAMPTZ NOT NULL,
    replies INTEGER NOT NULL DEFAULT 0,
    opt_outs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (church_id, quarter)
);

-- Counts into the current quarter hour: the one home of how tallies are bucketed.
CREATE FUNCTION tally(church BIGINT, new_replies INTEGER, new_opt_outs INTEGER) RETURNS void AS $$
    INSERT INTO church_tallies (church_id, quarter, replies, opt_outs)
    VALUES (church, date_bin('15 minutes', now(), TIMESTAMPTZ '2000-01-01 00:00:00+00'),
            new_replies, new_opt_outs)
    ON CONFLICT (church_id, quarter) DO UPDATE
        SET replies = church_tallies.replies + EXCLUDED.replies,
            opt_outs = church_tallies.opt_outs + EXCLUDED.opt_outs;
$$ LANGUAGE sql;

-- Every way a member opts out (STOP, the carrier's 40300, any later one) sets opted_out_at, so
-- counting it here counts them all.
CREATE FUNCTION tally_opt_out() RETURNS trigger AS $$
BEGIN
    PERFORM tally(NEW.church_id, 0, 1);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER members_opt_out_tally AFTER UPDATE OF opted_out_at ON members
    FOR EACH ROW WHEN (OLD.opted_out_at IS NULL AND NEW.opted_out_at IS NOT NULL)
    EXECUTE FUNCTION tally_opt_out();
