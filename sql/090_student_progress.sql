-- A student's own record of learning (/progress, the weekly digest line, /portfolio).
--
-- Every figure is computed in SQL as the student (`Database.student`: role `authenticated`,
-- the student's email in the JWT claims), so the database decides whose data it is:
--   * patients and events: plain queries on `ptl_patients`, under its row-level security;
--   * validator findings: `ptl_student.findings`, a table with row-level security of its own;
--   * exercises and quiz answers: the `ptl_student` functions below, which return only the
--     caller's own rows (the `ptl_bot` tables themselves stay closed to the API roles).
-- Nothing here is reachable by `anon`, and no service path is involved.

-- 1. Two more results of the rules engine, stored like `breach_date` (bot-owned columns,
--    written by `bot.rules.records.stored_clock_fields` on every bot write and by the
--    backfill): the day the latest clock stopped, and whether it stopped after its target.
--    "Treated within the standard" is then a count, never a clock computed in SQL.
alter table public.ptl_patients
    add column if not exists clock_stopped_on date,
    add column if not exists clock_breached   boolean;

-- Rows computed before these columns existed are recomputed by the backfill. Marking them is
-- bookkeeping, not an edit: the touch trigger is held off so `version` and `updated_at` (the
-- platform's "last modified") stay as they were.
alter table public.ptl_patients disable trigger ptl_patients_touch;
update public.ptl_patients
   set clock_computed_at = null
 where clock_computed_at is not null and clock_state is distinct from 'running'
   and clock_stopped_on is null;
alter table public.ptl_patients enable trigger ptl_patients_touch;

-- 2. Validator findings a student has been shown, and when each was fixed. Written by the
--    bot as the student whenever it validates their pathways (/validate, after a save); a
--    finding no longer reported on a later check gets `fixed_at`.
create schema if not exists ptl_student;
revoke all on schema ptl_student from public;
grant usage on schema ptl_student to authenticated;

create table if not exists ptl_student.findings (
    email         text not null default lower(btrim(coalesce(auth.jwt() ->> 'email', ''))),
    patient_id    text not null,
    code          text not null,
    severity      text not null,
    first_seen_at timestamptz not null default now(),
    fixed_at      timestamptz,
    primary key (email, patient_id, code)
);
alter table ptl_student.findings enable row level security;
drop policy if exists findings_own on ptl_student.findings;
create policy findings_own on ptl_student.findings
    for all to authenticated
    using (email = lower(btrim(coalesce((select auth.jwt()) ->> 'email', ''))))
    with check (email = lower(btrim(coalesce((select auth.jwt()) ->> 'email', ''))));
revoke all on ptl_student.findings from public, anon;
grant select, insert, update on ptl_student.findings to authenticated;

-- 3. The caller's exercises and quiz answers. `security definer` because the tables are the
--    bot's; each function filters on the caller's own email from the JWT, so a student sees
--    their own deliveries and answers and nobody else's (the tests call them as another
--    student and as anon).
create or replace function ptl_student.caller_email() returns text
    language sql stable security definer set search_path = ''
as $$
    select nullif(lower(btrim(coalesce((select auth.jwt()) ->> 'email', ''))), '')
$$;

create or replace function ptl_student.my_exercises()
    returns table (
        exercise_id bigint, title text, scenario_title text, sent_at timestamptz,
        started_at timestamptz, done_at timestamptz, questions bigint, answered bigint,
        correct bigint
    )
    language sql stable security definer set search_path = ''
as $$
    select e.id, e.title, e.scenario_title, d.sent_at, d.started_at, d.done_at,
           (select count(*) from ptl_bot.exercise_questions q where q.exercise_id = e.id),
           (select count(*) from ptl_bot.quiz_answers a
             where a.exercise_id = e.id and a.email = d.email),
           (select count(*) from ptl_bot.quiz_answers a
             where a.exercise_id = e.id and a.email = d.email and a.correct)
      from ptl_bot.exercise_deliveries d
      join ptl_bot.exercises e on e.id = d.exercise_id
     where d.email = ptl_student.caller_email() and d.status = 'sent'
     order by coalesce(d.sent_at, e.created_at), e.id
$$;

create or replace function ptl_student.my_quiz_answers()
    returns table (
        exercise_id bigint, question_no smallint, question text, options jsonb,
        correct_option smallint, explanation text, chosen_option smallint, correct boolean
    )
    language sql stable security definer set search_path = ''
as $$
    select q.exercise_id, q.position, q.question, q.options, q.correct_option, q.explanation,
           a.option_id, a.correct
      from ptl_bot.quiz_answers a
      join ptl_bot.exercise_questions q
        on q.exercise_id = a.exercise_id and q.position = a.position
     where a.email = ptl_student.caller_email()
     order by q.exercise_id, q.position
$$;

revoke all on all functions in schema ptl_student from public;
grant execute on function
    ptl_student.caller_email(),
    ptl_student.my_exercises(),
    ptl_student.my_quiz_answers()
    to authenticated;
