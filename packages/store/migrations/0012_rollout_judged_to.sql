-- A rollout decision rests on the rows up to a point: the monitor judges a window and rolls a
-- canary back at that window's end, which can be well before the event is written (the monitor's
-- lag, a backlog of windows). `judged_to` keeps that point, so the verdict of a decided rollout
-- can be computed again exactly as it was reached, at the same look. A person's promote or
-- rollback rests on everything up to the event itself: the default.
ALTER TABLE rollout_events ADD COLUMN IF NOT EXISTS judged_to DateTime64(3, 'UTC') DEFAULT timestamp;
