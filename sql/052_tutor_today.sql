-- Tutors' breach counts use the database's own "today" (issue 13).
--
-- `ptl_tutor.cohort_students(cohort, today)` took "today" from the caller: calling it for a
-- run of dates recovered, day by day, when each running patient starts breaching, which is
-- more than the aggregate a tutor may see. The replacement takes no date: it uses the
-- database's clock in the bot's configured time zone (TIMEZONE, Europe/London by default),
-- which the bot records below when it starts asking (storage/tutoring.py).

create table if not exists ptl_bot.clock_zone (
    id         integer primary key default 1 check (id = 1),
    timezone   text not null default 'Europe/London',
    updated_at timestamptz not null default now()
);
insert into ptl_bot.clock_zone (id) values (1) on conflict (id) do nothing;

-- "Today" for anything the database counts on its own: the tutor functions below call it.
create or replace function ptl_bot.today() returns date
    language sql stable set search_path = ''
as $$
    select (now() at time zone coalesce(
        (select z.timezone from ptl_bot.clock_zone z where z.id = 1), 'Europe/London'))::date
$$;
revoke all on function ptl_bot.today() from public;

drop function if exists ptl_tutor.cohort_students(bigint, date);

create or replace function ptl_tutor.cohort_students(p_cohort_id bigint)
    returns table (
        email text, linked boolean, ptl_size bigint, breached bigint,
        last_ptl_change timestamptz, last_seen_at timestamptz
    )
    language plpgsql stable security definer set search_path = ''
as $$
declare
    today date := ptl_bot.today();
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
                                         and x.breach_date <= today) as breached,
                      max(x.updated_at) as last_change
                 from public.ptl_patients x
                where lower(x.user_email) = m.email
          ) p on true
         where m.cohort_id = p_cohort_id and m.removed_at is null
         order by m.email;
end
$$;

revoke all on function ptl_tutor.cohort_students(bigint) from public;
grant execute on function ptl_tutor.cohort_students(bigint) to authenticated;
