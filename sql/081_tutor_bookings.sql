-- Tutors' PTL summaries count, per student, what a PTL meeting chases first (issue 16):
--   undated_at_risk   waiting patients with nothing booked ahead whose breach date is at
--                     most the at-risk threshold away (or already passed);
--   outcomes_missing  patients with a booking passed and no outcome recorded.
-- Read from the stored clock and booking summaries the rules engine wrote (sql/030, sql/080).
-- The at-risk thresholds are the operator's settings, passed in: RTT rows (and the legacy
-- 'routine' / 'urgent' values, read as RTT) use p_rtt_days, cancer and diagnostic p_other_days.
-- Only for the caller's own cohort, like ptl_tutor.cohort_students: summaries, never rows.

create or replace function ptl_tutor.cohort_bookings(
    p_cohort_id bigint, p_today date, p_rtt_days integer, p_other_days integer
)
    returns table (email text, undated_at_risk bigint, outcomes_missing bigint)
    language plpgsql stable security definer set search_path = ''
as $$
begin
    perform ptl_tutor.assert_own_cohort(p_cohort_id);
    return query
        select m.email,
               coalesce(p.undated, 0), coalesce(p.outcomes, 0)
          from ptl_bot.cohort_members m
          left join lateral (
               select count(*) filter (
                          where x.clock_state = 'running'
                            and x.breach_date - p_today <= case
                                  when lower(btrim(coalesce(x.pathway_type, 'rtt')))
                                       in ('rtt', 'routine', 'urgent') then p_rtt_days
                                  else p_other_days end
                            and not exists (select 1 from unnest(x.booking_open_dates) d
                                             where d >= p_today)) as undated,
                      count(*) filter (where x.booking_open_dates[1] < p_today) as outcomes
                 from public.ptl_patients x
                where lower(x.user_email) = m.email and x.deleted_at is null
          ) p on true
         where m.cohort_id = p_cohort_id and m.removed_at is null
         order by m.email;
end
$$;

revoke all on function ptl_tutor.cohort_bookings(bigint, date, integer, integer) from public;
grant execute on function ptl_tutor.cohort_bookings(bigint, date, integer, integer)
    to authenticated;
