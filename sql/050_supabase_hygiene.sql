-- Supabase hygiene on the platform's table (issue 13): what Supabase's default grants leave
-- behind, and what its Security and Performance Advisors flag.

-- 1. The student path (and the platform's API, as `authenticated`) needs SELECT, INSERT,
--    UPDATE and DELETE on ptl_patients, under row-level security, and nothing else. Supabase's
--    default privileges give every API role ALL on a new table in `public`, so take back:
--    TRUNCATE, which ignores row-level security (one call could empty every student's PTL);
--    REFERENCES and TRIGGER, which let a role build on the table; MAINTAIN (Postgres 17+),
--    which lets it lock the table. On the id sequence inserting needs USAGE only; UPDATE
--    (setval) could push ids anywhere and SELECT is never used. `anon` keeps nothing (002).
revoke truncate, references, trigger on public.ptl_patients from authenticated, anon;
do $$
declare
    seq text := pg_get_serial_sequence('public.ptl_patients', 'id');
begin
    if current_setting('server_version_num')::int >= 170000 then
        execute 'revoke maintain on public.ptl_patients from authenticated, anon';
    end if;
    if seq is not null then
        execute format('revoke all on sequence %s from authenticated, anon', seq);
        execute format('grant usage on sequence %s to authenticated', seq);
    end if;
end
$$;

-- 2. The owner policies, with the claim read once per statement: `(select auth.jwt())` is
--    an init plan Postgres evaluates once, where a bare `auth.jwt()` inside the expression
--    is what Supabase's Performance Advisor flags (auth_rls_initplan). Same meaning as 002.
drop policy if exists ptl_patients_select_own on public.ptl_patients;
drop policy if exists ptl_patients_insert_own on public.ptl_patients;
drop policy if exists ptl_patients_update_own on public.ptl_patients;
drop policy if exists ptl_patients_delete_own on public.ptl_patients;
create policy ptl_patients_select_own on public.ptl_patients
    for select to authenticated
    using (lower(user_email) = lower((select auth.jwt()) ->> 'email'));
create policy ptl_patients_insert_own on public.ptl_patients
    for insert to authenticated
    with check (lower(user_email) = lower((select auth.jwt()) ->> 'email'));
create policy ptl_patients_update_own on public.ptl_patients
    for update to authenticated
    using (lower(user_email) = lower((select auth.jwt()) ->> 'email'))
    with check (lower(user_email) = lower((select auth.jwt()) ->> 'email'));
create policy ptl_patients_delete_own on public.ptl_patients
    for delete to authenticated
    using (lower(user_email) = lower((select auth.jwt()) ->> 'email'));

-- 3. Postgres grants EXECUTE on every new function to PUBLIC, and no per-schema default can
--    narrow that, so each function the bot creates is closed explicitly. The trigger
--    functions in ptl_bot are fired by their triggers, which never check EXECUTE; nobody
--    needs to call them. (tests/test_supabase_grants.py lists exactly what `anon` and
--    `authenticated` can execute.)
revoke all on all functions in schema ptl_bot from public;
