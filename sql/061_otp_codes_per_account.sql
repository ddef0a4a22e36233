-- One-time codes belong to the Telegram account that asked and the address (issue 14,
-- point 11): another account asking for (or guessing at) the same address can neither burn
-- nor use the code someone else is waiting for. Codes live 10 minutes; a code in flight at
-- upgrade time is kept for the account whose challenge is waiting on it.
alter table ptl_bot.otp_codes add column if not exists telegram_user_id bigint;
update ptl_bot.otp_codes c set telegram_user_id = (
    select ch.telegram_user_id from ptl_bot.otp_challenges ch
    where ch.email_hash = c.email_hash and ch.state = 'pending'
    order by ch.created_at desc limit 1
) where c.telegram_user_id is null;
delete from ptl_bot.otp_codes where telegram_user_id is null;
alter table ptl_bot.otp_codes alter column telegram_user_id set not null;
alter table ptl_bot.otp_codes drop constraint if exists otp_codes_pkey;
alter table ptl_bot.otp_codes add primary key (telegram_user_id, email_hash);
-- Challenges for one address, newest first (the "only the newest request" rule).
create index if not exists otp_challenges_email_id on ptl_bot.otp_challenges (email_hash, id);
