-- A message may be sent later: its recipients wait in the outbox until send_at (their
-- next_attempt_at), so a restart or another node sends them once, on time. A scheduled message
-- cancelled before it started keeps its row, with its recipients taken out of the outbox.
ALTER TABLE messages ADD COLUMN send_at TIMESTAMPTZ;
ALTER TABLE messages ADD COLUMN cancelled_at TIMESTAMPTZ;
