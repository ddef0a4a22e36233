-- Email verification: one-time codes, their limits, and the key that hashes them.
-- Everything here is private to the bot (schema ptl_bot); no table stores a code or an
-- unverified email in clear: both are kept only as keyed hashes (HMAC-SHA256).

-- Bot-generated secrets that must survive restarts and be shared by replicas. Used for the
-- OTP hashing key when the operator does not set OTP_SECRET.
create table if not exists ptl_bot.secrets (
    name       text primary key,
    value      text not null,
    created_at timestamptz not null default now()
);

-- One row per code the bot asked to be sent: the bot-side policy (expiry, wrong tries, resend
-- limits per Telegram user and per email) for every verifier, Supabase Auth included.
-- state: sending (reserved, delivery in progress) -> pending (sent) -> verified | locked |
-- expired | superseded | cancelled; failed = delivery failed (does not count towards limits).
create table if not exists ptl_bot.otp_challenges (
    id               bigserial primary key,
    telegram_user_id bigint not null,
    email_hash       text not null,
    verifier         text not null,
    created_at       timestamptz not null,
    expires_at       timestamptz not null,
    attempts         integer not null default 0 check (attempts >= 0),
    state            text not null default 'sending' check (state in
                        ('sending', 'pending', 'verified', 'locked', 'expired', 'superseded',
                         'cancelled', 'failed')),
    closed_at        timestamptz
);
create index if not exists otp_challenges_user
    on ptl_bot.otp_challenges (telegram_user_id, created_at desc);
create index if not exists otp_challenges_email
    on ptl_bot.otp_challenges (email_hash, created_at desc);
create index if not exists otp_challenges_created
    on ptl_bot.otp_challenges (created_at);

-- Codes the bot itself makes (SMTP and console verifiers): the newest code per email, as a
-- keyed hash bound to that email. Supabase Auth keeps its own codes and never uses this table.
create table if not exists ptl_bot.otp_codes (
    email_hash text primary key,
    code_hash  text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    attempts   integer not null default 0 check (attempts >= 0)
);

revoke all on ptl_bot.secrets, ptl_bot.otp_challenges, ptl_bot.otp_codes
    from anon, authenticated;
