-- Bookings beside the web platform (issue 16, after issue 13's sql/051 and sql/052).
--
-- 1. The booking summaries' trigger (sql/080) runs after the guard on the bot's own columns.
--    Postgres fires a table's row triggers in name order. sql/051's guard
--    (`ptl_patients_bot_columns`) puts the bot-owned columns of a platform write back as they
--    were, booking summaries included, so a student cannot forge them. Under its old name the
--    booking trigger fired before the guard: it marked a row whose bookings the platform had
--    changed (`booking_computed_at` cleared), and the guard then put the old timestamp back, so
--    the change was never summarised. Renamed, it fires after the guard (then the clock
--    bookkeeping, then `ptl_patients_touch`): a platform write can no longer touch the
--    summaries, and a change to what they are computed from still marks the row for the
--    booking backfill. The function is unchanged.
drop trigger if exists ptl_patients_booking_inputs on public.ptl_patients;
drop trigger if exists ptl_patients_mark_bookings on public.ptl_patients;
create trigger ptl_patients_mark_bookings
    before insert or update on public.ptl_patients
    for each row execute function ptl_bot.ptl_patients_booking_inputs();

-- 2. Tutors' booking counts (sql/081) use the database's own "today" and the operator's
--    at-risk thresholds, never the caller's. Given a date, `cohort_bookings` could be called for
--    a run of days; given a threshold, for a run of thresholds: either way the counts changing
--    from one call to the next recover when each undated patient breaches, which is more than
--    the per-student summary a tutor may see. "Today" is `ptl_bot.today()` (sql/052: the
--    database's clock in the bot's configured zone); the thresholds are the operator's
--    AT_RISK_DAYS_RTT / AT_RISK_DAYS_CANCER, which the bot records here (storage/tutoring.py)
--    before it asks, as it records the zone.
create table if not exists ptl_bot.at_risk_days (
    id         integer primary key default 1 check (id = 1),
    rtt_days   integer not null default 28 check (rtt_days between 0 and 365),
    other_days integer not null default 7 check (other_days between 0 and 365),
    updated_at timestamptz not null default now()
);
insert into ptl_bot.at_risk_days (id) values (1) on conflict (id) do nothing;

drop function if exists ptl_tutor.cohort_bookings(bigint, date, integer, integer);

create or replace function ptl_tutor.cohort_bookings(p_cohort_id bigint)
    returns table (email text, undated_at_risk bigint, outcomes_missing bigint)
    language plpgsql stable security definer set search_path = ''
as $$
declare
    today date := ptl_bot.today();
    rtt_days integer;
    other_days integer;
begin
    perform ptl_tutor.assert_own_cohort(p_cohort_id);
    select coalesce(max(t.rtt_days), 28), coalesce(max(t.other_days), 7)
      into rtt_days, other_days
      from ptl_bot.at_risk_days t where t.id = 1;
    return query
        select m.email,
               coalesce(p.undated, 0), coalesce(p.outcomes, 0)
          from ptl_bot.cohort_members m
          left join lateral (
               select count(*) filter (
                          where x.clock_state = 'running'
                            and x.breach_date - today <= case
                                  when lower(btrim(coalesce(x.pathway_type, 'rtt')))
                                       in ('rtt', 'routine', 'urgent') then rtt_days
                                  else other_days end
                            and not exists (select 1 from unnest(x.booking_open_dates) d
                                             where d >= today)) as undated,
                      count(*) filter (where x.booking_open_dates[1] < today) as outcomes
                 from public.ptl_patients x
                where lower(x.user_email) = m.email and x.deleted_at is null
          ) p on true
         where m.cohort_id = p_cohort_id and m.removed_at is null
         order by m.email;
end
$$;

revoke all on function ptl_tutor.cohort_bookings(bigint) from public;
grant execute on function ptl_tutor.cohort_bookings(bigint) to authenticated;
