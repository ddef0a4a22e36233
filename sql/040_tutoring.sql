-- Tutoring: exercises broadcast to a cohort, the delivery outbox, quiz polls and answers, and
-- the tutor's read-only window onto their own cohorts (schema `ptl_tutor`).

-- Scenario patients imported from an exercise carry the exercise on the platform's own table
-- (additive columns; platform rows leave them null). The unique index makes an import
-- idempotent: pressing Start twice inserts each scenario patient once.
alter table public.ptl_patients
    add column if not exists exercise_id          bigint,
    add column if not exists exercise_patient_key text;
create unique index if not exists ptl_patients_exercise_import
    on public.ptl_patients (lower(user_email), exercise_id, exercise_patient_key)
    where exercise_id is not null;

-- An exercise: what a tutor sent to one cohort. `patients` holds the scenario patients with
-- dates relative to the day a student imports them (see bot/scenarios.py), so the same
-- exercise is as fresh for a student who starts it next week as for one who starts today.
create table if not exists ptl_bot.exercises (
    id                  bigserial primary key,
    cohort_id           bigint not null references ptl_bot.cohorts (id),
    tutor_email         text not null check (tutor_email = lower(btrim(tutor_email))),
    title               text not null check (length(title) between 1 and 120),
    brief               text not null check (length(brief) between 1 and 3000),
    scenario_key        text,
    scenario_title      text,
    patients            jsonb not null default '[]'::jsonb,
    due_date            date,
    -- The Send button's token: a double press (or a retried update) creates one exercise.
    draft_token         text not null unique,
    recipients          integer not null default 0,
    progress_chat_id    bigint,
    progress_message_id bigint,
    created_at          timestamptz not null default now()
);
create index if not exists exercises_cohort on ptl_bot.exercises (cohort_id);
create index if not exists exercises_tutor on ptl_bot.exercises (tutor_email, id desc);

create table if not exists ptl_bot.exercise_questions (
    exercise_id    bigint not null references ptl_bot.exercises (id) on delete cascade,
    position       smallint not null check (position >= 0),
    question       text not null,
    options        jsonb not null,
    correct_option smallint not null check (correct_option >= 0),
    explanation    text,
    primary key (exercise_id, position)
);

-- The delivery outbox: one row per (exercise, student).
--   pending     waiting to be sent (next_attempt_at says when: 429 and network retries)
--   claimed     picked by a worker, not yet attempted (a lapsed claim goes back to pending)
--   sending     the API call is (or was) in flight; a lapsed one becomes `unconfirmed`,
--               never pending: Telegram has no idempotency key, so a message whose answer
--               was lost may have arrived, and the bot never sends an exercise twice
--   sent        delivered (message_id recorded)
--   blocked     403: the student blocked the bot (their link is deactivated)
--   not_linked  no active Telegram link for the email at send time
--   failed      a permanent error, or retries exhausted
--   unconfirmed see `sending`; the tutor may resend explicitly
create table if not exists ptl_bot.exercise_deliveries (
    exercise_id     bigint not null references ptl_bot.exercises (id) on delete cascade,
    email           text not null check (email = lower(btrim(email))),
    status          text not null default 'pending' check (status in (
                        'pending', 'claimed', 'sending', 'sent', 'blocked', 'not_linked',
                        'failed', 'unconfirmed')),
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at timestamptz not null default now(),
    claim_token     uuid,
    claimed_at      timestamptz,
    chat_id         bigint,
    message_id      bigint,
    sent_at         timestamptz,
    opened_at       timestamptz,
    started_at      timestamptz,
    done_at         timestamptz,
    imported        integer,
    primary key (exercise_id, email)
);
create index if not exists exercise_deliveries_due
    on ptl_bot.exercise_deliveries (next_attempt_at) where status = 'pending';
create index if not exists exercise_deliveries_in_flight
    on ptl_bot.exercise_deliveries (claimed_at) where status in ('claimed', 'sending');
create index if not exists exercise_deliveries_email on ptl_bot.exercise_deliveries (email);

-- Quiz polls sent to a student (claimed per question before sending, so a second Start
-- never sends a question twice) and the answers they gave.
create table if not exists ptl_bot.exercise_polls (
    exercise_id bigint not null,
    email       text not null,
    position    smallint not null,
    poll_id     text unique,
    sent_at     timestamptz not null default now(),
    primary key (exercise_id, email, position),
    foreign key (exercise_id, email)
        references ptl_bot.exercise_deliveries (exercise_id, email) on delete cascade
);

create table if not exists ptl_bot.quiz_answers (
    exercise_id bigint not null,
    email       text not null,
    position    smallint not null,
    option_id   smallint not null,
    correct     boolean not null,
    answered_at timestamptz not null default now(),
    primary key (exercise_id, email, position),
    foreign key (exercise_id, email)
        references ptl_bot.exercise_deliveries (exercise_id, email) on delete cascade
);

-- ---------------------------------------------------------------------------------------
-- The tutor boundary, enforced by the database.
--
-- Tutors read through the functions below, called inside `Database.student(tutor_email)`,
-- i.e. as `authenticated` with the tutor's email in the JWT claims. Each function checks that
-- the caller is staff and the cohort's own tutor, and returns aggregates only (PTL size,
-- breaches, last activity): never a patient's name, NHS number or any other row. The
-- functions live in their own schema so that granting `usage` to `authenticated` exposes
-- nothing but them: the `ptl_bot` tables stay closed, and RLS on `ptl_patients` still shows
-- a tutor only their own rows.
-- ---------------------------------------------------------------------------------------
create schema if not exists ptl_tutor;
revoke all on schema ptl_tutor from public;
grant usage on schema ptl_tutor to authenticated;

-- The caller's email when they are staff; otherwise refuse (42501 insufficient_privilege).
create or replace function ptl_tutor.caller_staff_email() returns text
    language plpgsql stable security definer set search_path = ''
as $$
declare
    caller text := lower(btrim(coalesce((select auth.jwt()) ->> 'email', '')));
begin
    if caller = '' or not exists (select 1 from ptl_bot.staff s where s.email = caller) then
        raise exception 'only tutors may read cohort data' using errcode = '42501';
    end if;
    return caller;
end
$$;

-- Refuse unless the caller is staff and tutors this cohort.
create or replace function ptl_tutor.assert_own_cohort(p_cohort_id bigint) returns text
    language plpgsql stable security definer set search_path = ''
as $$
declare
    caller text := ptl_tutor.caller_staff_email();
begin
    if not exists (
        select 1 from ptl_bot.cohorts c where c.id = p_cohort_id and c.tutor_email = caller
    ) then
        raise exception 'not your cohort' using errcode = '42501';
    end if;
    return caller;
end
$$;

create or replace function ptl_tutor.my_cohorts()
    returns table (
        cohort_id bigint, name text, invite_code text, created_at timestamptz,
        archived_at timestamptz, members bigint
    )
    language plpgsql stable security definer set search_path = ''
as $$
declare
    caller text := ptl_tutor.caller_staff_email();
begin
    return query
        select c.id, c.name, c.invite_code, c.created_at, c.archived_at,
               (select count(*) from ptl_bot.cohort_members m
                 where m.cohort_id = c.id and m.removed_at is null)
          from ptl_bot.cohorts c
         where c.tutor_email = caller
         order by c.archived_at is not null, c.created_at desc, c.id desc;
end
$$;

create or replace function ptl_tutor.cohort_members(p_cohort_id bigint)
    returns table (
        email text, joined_at timestamptz, linked boolean, blocked boolean,
        last_seen_at timestamptz
    )
    language plpgsql stable security definer set search_path = ''
as $$
begin
    perform ptl_tutor.assert_own_cohort(p_cohort_id);
    return query
        select m.email, m.joined_at,
               l.email is not null,
               l.email is null and exists (
                   select 1 from ptl_bot.telegram_links b
                    where b.email = m.email and not b.active and b.deactivated_why = 'blocked'
                      and not exists (select 1 from ptl_bot.telegram_links n
                                       where n.email = m.email and n.id > b.id)),
               (select max(t.last_seen_at) from ptl_bot.telegram_links t where t.email = m.email)
          from ptl_bot.cohort_members m
          left join ptl_bot.telegram_links l on l.email = m.email and l.active
         where m.cohort_id = p_cohort_id and m.removed_at is null
         order by m.email;
end
$$;

-- Each member's PTL in summary: size, breached (running clock on or past its first breach
-- day, from the stored clock fields the rules engine keeps), last activity. No row detail.
create or replace function ptl_tutor.cohort_students(p_cohort_id bigint, p_today date)
    returns table (
        email text, linked boolean, ptl_size bigint, breached bigint,
        last_ptl_change timestamptz, last_seen_at timestamptz
    )
    language plpgsql stable security definer set search_path = ''
as $$
begin
    perform ptl_tutor.assert_own_cohort(p_cohort_id);
    return query
        select m.email,
               exists (select 1 from ptl_bot.telegram_links l
                        where l.email = m.email and l.active),
               coalesce(p.size, 0), coalesce(p.breached, 0), p.last_change,
               (select max(t.last_seen_at) from ptl_bot.telegram_links t where t.email = m.email)
          from ptl_bot.cohort_members m
          left join lateral (
               select count(*) filter (where x.deleted_at is null) as size,
                      count(*) filter (where x.deleted_at is null
                                         and x.clock_state = 'running'
                                         and x.breach_date <= p_today) as breached,
                      max(x.updated_at) as last_change
                 from public.ptl_patients x
                where lower(x.user_email) = m.email
          ) p on true
         where m.cohort_id = p_cohort_id and m.removed_at is null
         order by m.email;
end
$$;

create or replace function ptl_tutor.my_exercises(p_limit integer)
    returns table (
        exercise_id bigint, cohort_id bigint, cohort_name text, title text, due_date date,
        created_at timestamptz, recipients bigint, delivered bigint, done bigint
    )
    language plpgsql stable security definer set search_path = ''
as $$
declare
    caller text := ptl_tutor.caller_staff_email();
begin
    return query
        select e.id, e.cohort_id, c.name, e.title, e.due_date, e.created_at,
               (select count(*) from ptl_bot.exercise_deliveries d where d.exercise_id = e.id),
               (select count(*) from ptl_bot.exercise_deliveries d
                 where d.exercise_id = e.id and d.status = 'sent'),
               (select count(*) from ptl_bot.exercise_deliveries d
                 where d.exercise_id = e.id and d.done_at is not null)
          from ptl_bot.exercises e
          join ptl_bot.cohorts c on c.id = e.cohort_id
         where c.tutor_email = caller
         order by e.id desc
         limit greatest(1, least(p_limit, 200));
end
$$;

-- Per student: delivery status, opened/started/done, quiz score. Only for the caller's cohort.
create or replace function ptl_tutor.exercise_progress(p_exercise_id bigint)
    returns table (
        email text, status text, sent_at timestamptz, opened_at timestamptz,
        started_at timestamptz, done_at timestamptz, imported integer,
        quiz_answered bigint, quiz_correct bigint, quiz_total bigint
    )
    language plpgsql stable security definer set search_path = ''
as $$
declare
    v_cohort bigint;
begin
    select e.cohort_id into v_cohort from ptl_bot.exercises e where e.id = p_exercise_id;
    if v_cohort is null then
        perform ptl_tutor.caller_staff_email();
        raise exception 'not your exercise' using errcode = '42501';
    end if;
    perform ptl_tutor.assert_own_cohort(v_cohort);
    return query
        select d.email, d.status, d.sent_at, d.opened_at, d.started_at, d.done_at, d.imported,
               (select count(*) from ptl_bot.quiz_answers a
                 where a.exercise_id = d.exercise_id and a.email = d.email),
               (select count(*) from ptl_bot.quiz_answers a
                 where a.exercise_id = d.exercise_id and a.email = d.email and a.correct),
               (select count(*) from ptl_bot.exercise_questions q
                 where q.exercise_id = d.exercise_id)
          from ptl_bot.exercise_deliveries d
         where d.exercise_id = p_exercise_id
         order by d.email;
end
$$;

-- The one write a tutor makes through this window: take a student out of their cohort.
create or replace function ptl_tutor.remove_member(p_cohort_id bigint, p_email text)
    returns boolean
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    n integer;
begin
    perform ptl_tutor.assert_own_cohort(p_cohort_id);
    update ptl_bot.cohort_members m set removed_at = now()
     where m.cohort_id = p_cohort_id and m.email = lower(btrim(p_email))
       and m.removed_at is null;
    get diagnostics n = row_count;
    return n > 0;
end
$$;

revoke all on all functions in schema ptl_tutor from public;
grant execute on function
    ptl_tutor.my_cohorts(),
    ptl_tutor.cohort_members(bigint),
    ptl_tutor.cohort_students(bigint, date),
    ptl_tutor.my_exercises(integer),
    ptl_tutor.exercise_progress(bigint),
    ptl_tutor.remove_member(bigint, text)
    to authenticated;
