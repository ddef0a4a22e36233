-- The bot's own state, in the private `ptl_bot` schema (not exposed by Supabase's Data API).

-- Conversation state and per-user / per-chat data (PTB persistence), so a restart or another
-- replica resumes a student's form at the same step.
create table if not exists ptl_bot.conversations (
    name       text not null,
    key        text not null,          -- JSON array, e.g. [chat_id, user_id]
    state      jsonb,
    updated_at timestamptz not null default now(),
    primary key (name, key)
);

create table if not exists ptl_bot.user_data (
    user_id    bigint primary key,
    data       jsonb not null,
    updated_at timestamptz not null default now()
);

create table if not exists ptl_bot.chat_data (
    chat_id    bigint primary key,
    data       jsonb not null,
    updated_at timestamptz not null default now()
);

-- Telegram account <-> verified platform email. One live link per Telegram user and one per
-- email: moving an email to a new account deactivates the old row (kept for the record).
create table if not exists ptl_bot.telegram_links (
    id              bigserial primary key,
    telegram_user_id bigint not null,
    chat_id         bigint not null,
    email           text not null check (email = lower(btrim(email))),
    first_name      text,
    verified_at     timestamptz not null default now(),
    active          boolean not null default true,
    deactivated_at  timestamptz,
    deactivated_why text,
    last_seen_at    timestamptz not null default now(),
    -- Reminder preferences (filled by the reminders feature; null means the operator default).
    reminder_time   time,
    reminder_days   text,                    -- 'weekdays' | 'daily'
    reminder_window_days integer,
    reminders_muted boolean not null default false
);
create unique index if not exists telegram_links_active_user
    on ptl_bot.telegram_links (telegram_user_id) where active;
create unique index if not exists telegram_links_active_email
    on ptl_bot.telegram_links (email) where active;

-- Tutors and admins, managed with `python -m bot staff`. Roles are never guessed from email text.
create table if not exists ptl_bot.staff (
    email      text primary key check (email = lower(btrim(email))),
    role       text not null check (role in ('tutor', 'admin')),
    added_at   timestamptz not null default now()
);

-- Cohorts (a tutor's class) and their members; students join through an invite deep link.
create table if not exists ptl_bot.cohorts (
    id          bigserial primary key,
    name        text not null,
    tutor_email text not null check (tutor_email = lower(btrim(tutor_email))),
    invite_code text not null unique,
    created_at  timestamptz not null default now(),
    archived_at timestamptz
);
create index if not exists cohorts_tutor on ptl_bot.cohorts (tutor_email);

create table if not exists ptl_bot.cohort_members (
    cohort_id  bigint not null references ptl_bot.cohorts (id) on delete cascade,
    email      text not null check (email = lower(btrim(email))),
    joined_at  timestamptz not null default now(),
    removed_at timestamptz,
    primary key (cohort_id, email)
);
create index if not exists cohort_members_email on ptl_bot.cohort_members (email);
