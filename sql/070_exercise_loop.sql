-- The exercise loop (issue 15): the quiz taken when the student is ready, the answer key sent
-- once after the last answer, the tutor's question-by-question view, and late joiners.

-- When the answer key went to the student: claimed before sending, so two replicas handling
-- the last two answers at once (or a retried update) send it once.
alter table ptl_bot.exercise_deliveries
    add column if not exists quiz_key_sent_at timestamptz;

-- /progress lists every current member: a student who joined after the exercise went out
-- (and has no delivery yet) is a row too, with status 'not_sent', so the tutor sees them and
-- can send it (ptl_tutor.send_to_new_members). Same columns as before.
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
        select x.email, x.status, x.sent_at, x.opened_at, x.started_at, x.done_at,
               x.imported, x.quiz_answered, x.quiz_correct, x.quiz_total
          from (
            select d.email, d.status, d.sent_at, d.opened_at, d.started_at, d.done_at,
                   d.imported,
                   (select count(*) from ptl_bot.quiz_answers a
                     where a.exercise_id = d.exercise_id and a.email = d.email) as quiz_answered,
                   (select count(*) from ptl_bot.quiz_answers a
                     where a.exercise_id = d.exercise_id and a.email = d.email
                       and a.correct) as quiz_correct,
                   (select count(*) from ptl_bot.exercise_questions q
                     where q.exercise_id = d.exercise_id) as quiz_total
              from ptl_bot.exercise_deliveries d
             where d.exercise_id = p_exercise_id
            union all
            select m.email, 'not_sent', null::timestamptz, null::timestamptz,
                   null::timestamptz, null::timestamptz, null::integer, 0::bigint, 0::bigint,
                   (select count(*) from ptl_bot.exercise_questions q
                     where q.exercise_id = p_exercise_id)
              from ptl_bot.cohort_members m
             where m.cohort_id = v_cohort and m.removed_at is null
               and not exists (select 1 from ptl_bot.exercise_deliveries d
                                where d.exercise_id = p_exercise_id and d.email = m.email)
          ) x
         order by x.email;
end
$$;

-- Question by question: each question and, per student, the answer they chose. Quiz answers
-- only (never a patient), and only for the caller's own cohort's exercise.
create or replace function ptl_tutor.exercise_answers(p_exercise_id bigint)
    returns table (
        "position" smallint, question text, options jsonb, correct_option smallint,
        email text, option_id smallint, correct boolean
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
        select q.position, q.question, q.options, q.correct_option, a.email, a.option_id,
               a.correct
          from ptl_bot.exercise_questions q
          left join ptl_bot.quiz_answers a
            on a.exercise_id = q.exercise_id and a.position = q.position
         where q.exercise_id = p_exercise_id
         order by q.position, a.email;
end
$$;

-- The tutor's "send to new members": one pending delivery for each current member who has
-- none yet (the outbox worker sends it, never twice). Returns how many were queued.
create or replace function ptl_tutor.send_to_new_members(p_exercise_id bigint)
    returns integer
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    v_cohort bigint;
    n integer;
begin
    select e.cohort_id into v_cohort from ptl_bot.exercises e where e.id = p_exercise_id;
    if v_cohort is null then
        perform ptl_tutor.caller_staff_email();
        raise exception 'not your exercise' using errcode = '42501';
    end if;
    perform ptl_tutor.assert_own_cohort(v_cohort);
    insert into ptl_bot.exercise_deliveries (exercise_id, email)
        select p_exercise_id, m.email
          from ptl_bot.cohort_members m
         where m.cohort_id = v_cohort and m.removed_at is null
        on conflict do nothing;
    get diagnostics n = row_count;
    update ptl_bot.exercises e set recipients = e.recipients + n where e.id = p_exercise_id;
    return n;
end
$$;

revoke all on function ptl_tutor.exercise_answers(bigint) from public;
revoke all on function ptl_tutor.send_to_new_members(bigint) from public;
grant execute on function
    ptl_tutor.exercise_progress(bigint),
    ptl_tutor.exercise_answers(bigint),
    ptl_tutor.send_to_new_members(bigint)
    to authenticated;
