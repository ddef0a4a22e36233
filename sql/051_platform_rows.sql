-- Living beside the web platform (issue 13): bot-owned columns only the bot writes, machine
-- writes that leave the platform's "last modified" alone, and a bin the platform cannot see.
--
-- Who is "the bot": a transaction the bot opened. Its student transactions carry the claim
-- `"ptl_bot": true` in `request.jwt.claims` (storage/db.py), which a student's own token
-- cannot carry (Supabase Auth signs the top-level claims; what a user may edit sits under
-- `user_metadata`); its service path logs in as the bot's own role, not as an API role.
-- Anything else (the platform's Data API as `authenticated`, `anon` or `service_role`) is the
-- platform.

-- (clock_stopped_on and clock_breached are sql/090's; added here too, as 090 does, because
-- the triggers below use them and a new database applies this file first.)
-- clock_as_of: the day the stored results hold for; clock_rank and clock_pathway: where the
-- row sorts on a PTL and its standard (bot.rules.pathway.ordering_group), so a PTL can be
-- paged in SQL in the engine's order.
alter table public.ptl_patients
    add column if not exists bin_version      integer,
    add column if not exists clock_as_of      date,
    add column if not exists clock_rank       smallint,
    add column if not exists clock_pathway    text,
    add column if not exists clock_stopped_on date,
    add column if not exists clock_breached   boolean;

-- 1. Bot-owned columns (README: the platform's table) are the bot's alone. A platform
--    insert starts them empty; a platform update leaves them as they were. So a student
--    cannot forge the stored clock fields tutors count, nor bin, hide or re-home a row
--    through the API; the engine recomputes the clock fields (the row is marked below).
create or replace function ptl_bot.ptl_patients_bot_columns() returns trigger
    language plpgsql
    set search_path = ''
as $$
declare
    -- Each bot-owned column as a new platform row starts it (the column's own default);
    -- columns a later migration adds may be listed before they exist: they are skipped.
    fresh constant jsonb := '{
        "version": null, "deleted_at": null, "bin_version": null, "breach_date": null,
        "clock_state": null, "clock_computed_at": null, "clock_inputs_until": null,
        "clock_stopped_on": null, "clock_breached": null, "clock_as_of": null,
        "clock_rank": null, "clock_pathway": null,
        "exercise_id": null, "exercise_patient_key": null,
        "booking_open_dates": [], "booking_late_dates": [], "booking_computed_at": null
    }';
    claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
begin
    if current_user::text not in ('anon', 'authenticated', 'service_role')
       or coalesce(claims -> 'ptl_bot' = 'true'::jsonb, false) then
        return new;
    end if;
    if tg_op = 'INSERT' then
        new := jsonb_populate_record(new, fresh);
    else
        new := jsonb_populate_record(
            new, (select jsonb_object_agg(c, to_jsonb(old) -> c) from jsonb_object_keys(fresh) c));
    end if;
    return new;
end
$$;

drop trigger if exists ptl_patients_bot_columns on public.ptl_patients;
-- Triggers fire in name order: this one first, then clock_inputs, then touch.
create trigger ptl_patients_bot_columns
    before insert or update on public.ptl_patients
    for each row execute function ptl_bot.ptl_patients_bot_columns();

-- 2. The clock bookkeeping of sql/030, with a fixed search_path (Supabase's Security Advisor:
--    function_search_path_mutable) and without `rtt_code` / `clock_status` among the engine's
--    outputs: those are the platform's columns, which the engine no longer fills in the
--    background (only a student's own edit in the bot writes them, README).
create or replace function ptl_bot.ptl_patients_clock_inputs() returns trigger
    language plpgsql
    set search_path = ''
as $$
declare
    inputs_changed boolean;
    outputs_changed boolean;
    engine_wrote boolean;
    latest date;
    item jsonb;
    raw text;
    y int;
    m int;
    d int;
begin
    if tg_op = 'UPDATE' then
        inputs_changed := new.events is distinct from old.events
            or new.clock_start_date is distinct from old.clock_start_date
            or new.pathway_type is distinct from old.pathway_type;
        outputs_changed := new.breach_date is distinct from old.breach_date
            or new.clock_state is distinct from old.clock_state
            or new.clock_stopped_on is distinct from old.clock_stopped_on
            or new.clock_breached is distinct from old.clock_breached;
        engine_wrote := new.clock_computed_at is not null
            and (old.clock_computed_at is null or new.clock_computed_at > old.clock_computed_at);
        if (inputs_changed or outputs_changed) and not engine_wrote then
            new.clock_computed_at := null;
        end if;
    else
        inputs_changed := true;
        -- A copied row carrying someone else's old computation is not the engine's work.
        if new.clock_computed_at < now() - interval '10 minutes' then
            new.clock_computed_at := null;
        end if;
    end if;

    if inputs_changed or new.clock_inputs_until is null then
        latest := new.clock_start_date;
        if jsonb_typeof(new.events) = 'array' then
            for item in select value from jsonb_array_elements(new.events) loop
                raw := case when jsonb_typeof(item) = 'object' then left(item ->> 'date', 10) end;
                continue when raw is null or raw = '';
                if raw ~ '^\d{4}-\d{2}-\d{2}$' then
                    y := substr(raw, 1, 4)::int;
                    m := substr(raw, 6, 2)::int;
                    d := substr(raw, 9, 2)::int;
                    if y >= 1 and m between 1 and 12 and d >= 1
                       and d <= extract(day from make_date(y, m, 1) + interval '1 month' - interval '1 day')
                    then
                        if latest is null or make_date(y, m, d) > latest then
                            latest := make_date(y, m, d);
                        end if;
                        continue;
                    end if;
                end if;
                -- A date SQL cannot read may still mean something to the engine: re-check daily.
                latest := date '9999-12-31';
            end loop;
        end if;
        new.clock_inputs_until := coalesce(latest, date '0001-01-01');
    end if;
    return new;
end
$$;

-- 3. `version` and `updated_at` mark an edit: a change to anything but the engine's results
--    and the bot's bookkeeping. A machine write (the backfill, a re-check, the bin's
--    bookkeeping) leaves both as they were, so the platform's "last modified" and the
--    tutor's "last activity" stay the student's, and an edit in flight is not made stale.
create or replace function ptl_bot.ptl_patients_touch() returns trigger
    language plpgsql
    set search_path = ''
as $$
declare
    machine constant text[] := array[
        'breach_date', 'clock_state', 'clock_computed_at', 'clock_inputs_until',
        'clock_stopped_on', 'clock_breached', 'clock_as_of', 'clock_rank', 'clock_pathway',
        'bin_version',
        'booking_open_dates', 'booking_late_dates', 'booking_computed_at'];
begin
    if tg_op = 'INSERT' then
        new.version := 1;
        new.updated_at := now();
    elsif (to_jsonb(new) - machine) is distinct from (to_jsonb(old) - machine) then
        new.version := coalesce(old.version, 0) + 1;
        new.updated_at := now();
    else
        new.version := old.version;
        new.updated_at := old.updated_at;
    end if;
    return new;
end
$$;

revoke all on function ptl_bot.ptl_patients_bot_columns() from public;

-- 4. The bin. `bin_version` is the row's version when it was binned: the purge removes only
--    rows still at that version, so a row changed after it was binned (by anyone, through
--    any path) is never hard-deleted. Rows binned before this migration get it only if they
--    have not been changed since (their last change is the binning itself).
update public.ptl_patients
   set bin_version = version
 where deleted_at is not null and bin_version is null
   and updated_at <= deleted_at + interval '1 minute';

-- Binned rows are invisible to the platform's API: a restrictive policy (it narrows what the
-- owner policies allow) shows them, and lets them be written, only in the bot's own
-- transactions. A platform insert cannot create one either (and the trigger above keeps
-- `deleted_at` the bot's). It repeats the owner condition on purpose: Postgres applies a
-- restrictive policy before the permissive ones, and only the first condition it applies can
-- drive the index on lower(user_email); it also keeps a student to their own rows should
-- anyone ever add a looser permissive policy.
drop policy if exists ptl_patients_bin_is_the_bots on public.ptl_patients;
create policy ptl_patients_bin_is_the_bots on public.ptl_patients
    as restrictive for all to authenticated
    using (lower(user_email) = lower((select auth.jwt()) ->> 'email')
           and (deleted_at is null
                or coalesce((select auth.jwt()) -> 'ptl_bot' = 'true'::jsonb, false)))
    with check (lower(user_email) = lower((select auth.jwt()) ->> 'email')
                and (deleted_at is null
                     or coalesce((select auth.jwt()) -> 'ptl_bot' = 'true'::jsonb, false)));
