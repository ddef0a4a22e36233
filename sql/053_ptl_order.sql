-- The PTL paged in the database (issue 13, point 7), in the rules engine's order.
--
-- The engine sorts a PTL by `bot.rules.pathway.ordering_key`: the row's group (clock_rank,
-- sql/051: 0 running, 1 stopped, 2 ended, 3 nullified, 4 transferred, 9 no usable clock),
-- then days to breach, then a date (the breach date, else the clock's start), then name and id.
-- Days to breach of a running clock is `breach_date - today`, which SQL can work out for any
-- day; a clock frozen by an open cancer treatment adjustment has a fixed figure instead. Two
-- more bot-owned results of the engine hold what SQL cannot know:
--   clock_order_on    the date the engine sorts the row by (breach date, else clock start);
--   clock_order_days  the fixed days to breach of a frozen clock (null: breach_date - today).
-- storage/ptl_pages.py reads them; bot.rules.records.stored_clock_fields writes them.

alter table public.ptl_patients
    add column if not exists clock_order_on   date,
    add column if not exists clock_order_days integer;

-- Both columns are the bot's alone, like the other results (sql/051, 1 and 3): the two
-- functions again, with the new columns in their lists.
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
        "clock_order_on": null, "clock_order_days": null,
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

create or replace function ptl_bot.ptl_patients_touch() returns trigger
    language plpgsql
    set search_path = ''
as $$
declare
    machine constant text[] := array[
        'breach_date', 'clock_state', 'clock_computed_at', 'clock_inputs_until',
        'clock_stopped_on', 'clock_breached', 'clock_as_of', 'clock_rank', 'clock_pathway',
        'clock_order_on', 'clock_order_days',
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
