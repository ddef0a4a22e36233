-- Quiz answers are credited only to the account a poll was sent to (issue 14, point 7).
-- A forwarded poll can be answered by anyone; the answer's Telegram user must be the one
-- the bot sent the poll to, still linked to the student's email. Polls sent before this
-- column existed keep sent_to null and are checked against the active link alone.
alter table ptl_bot.exercise_polls add column if not exists sent_to bigint;
