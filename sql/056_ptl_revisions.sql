-- A change counter per student, so a PTL page can be reused until the student's rows change
-- (issue 13, point 7).
--
-- Why: the header of every /ptl page counts the whole PTL (breached, at risk, undated, ...)
-- and its order depends on every row, so a page costs a pass over all of a student's rows:
-- about 90 ms for 20,000 of them. The bot keeps the counts and the ordered ids of a PTL it
-- has just worked out (storage/ptl_pages.py) and needs to know, cheaply and exactly, whether
-- anything has changed since. Every write to a student's rows, by anyone (the bot, the web
-- platform through the Data API, the backfill, the purge), moves that student's counter on.
--
-- Statement-level triggers with transition tables: one upsert per statement, not per row,
-- and each statement takes its students' counter rows in one order (sorted by email), so two
-- statements can never wait on each other's counters in a circle. The function runs as its
-- owner (security definer) because students writing through the Data API have no rights on
-- ptl_bot; it writes this table only, and nobody may call it directly.

create table if not exists ptl_bot.ptl_revisions (
    email    text primary key,   -- lower(user_email), as the owner policies compare it
    revision bigint not null default 1
);
revoke all on ptl_bot.ptl_revisions from public;

create or replace function ptl_bot.ptl_patients_revise() returns trigger
    language plpgsql
    security definer
    set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        insert into ptl_bot.ptl_revisions as r (email)
        select distinct lower(n.user_email) from new_rows n
         where n.user_email is not null order by 1
        on conflict (email) do update set revision = r.revision + 1;
    elsif tg_op = 'DELETE' then
        insert into ptl_bot.ptl_revisions as r (email)
        select distinct lower(o.user_email) from old_rows o
         where o.user_email is not null order by 1
        on conflict (email) do update set revision = r.revision + 1;
    else  -- UPDATE: a row given to another student changes both PTLs
        insert into ptl_bot.ptl_revisions as r (email)
        select e from (select lower(n.user_email) as e from new_rows n
                       union
                       select lower(o.user_email) from old_rows o) changed
         where e is not null order by 1
        on conflict (email) do update set revision = r.revision + 1;
    end if;
    return null;
end
$$;
revoke all on function ptl_bot.ptl_patients_revise() from public;

drop trigger if exists ptl_patients_revise_insert on public.ptl_patients;
drop trigger if exists ptl_patients_revise_update on public.ptl_patients;
drop trigger if exists ptl_patients_revise_delete on public.ptl_patients;
create trigger ptl_patients_revise_insert after insert on public.ptl_patients
    referencing new table as new_rows
    for each statement execute function ptl_bot.ptl_patients_revise();
create trigger ptl_patients_revise_update after update on public.ptl_patients
    referencing old table as old_rows new table as new_rows
    for each statement execute function ptl_bot.ptl_patients_revise();
create trigger ptl_patients_revise_delete after delete on public.ptl_patients
    referencing old table as old_rows
    for each statement execute function ptl_bot.ptl_patients_revise();
