-- Where each open date's booking sits in the list (issue 16: the daily digest's speed).
--
-- A digest line "booked after the breach date" or "outcome needed" names one booking: the
-- first open booking (by time, then stored order) on the date the summaries give (sql/080).
-- Finding it meant sending and reading a patient's whole `appointments` list, for tens of
-- thousands of rows a day. The engine now stores where that booking is, beside the dates:
--
--   booking_open_places  for each date of booking_open_dates, at the same position, the
--                        place (from 0) in `appointments` of that day's first open booking;
--                        0 when `appointments` is one object rather than a list.
--
-- So the candidate query sends only that one element (storage/reminders.py). Like the other
-- summaries it is the bot's alone, written by the engine with them, and never changes with
-- the date; the three trigger functions again, with the new column in their lists.

alter table public.ptl_patients
    add column if not exists booking_open_places integer[] not null default '{}';

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
        "booking_open_dates": [], "booking_late_dates": [], "booking_open_places": [],
        "booking_computed_at": null
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
        'booking_open_dates', 'booking_late_dates', 'booking_open_places',
        'booking_computed_at'];
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

create or replace function ptl_bot.ptl_patients_booking_inputs() returns trigger
    language plpgsql
    set search_path = ''
    as $$
declare
    has_bookings boolean;
    engine_wrote boolean;
begin
    has_bookings := jsonb_typeof(new.appointments) = 'object'
        or (jsonb_typeof(new.appointments) = 'array'
            and jsonb_array_length(new.appointments) > 0);
    if not has_bookings then
        -- No list of bookings (or an empty one): nothing is open, nothing is late.
        new.booking_open_dates := '{}';
        new.booking_late_dates := '{}';
        new.booking_open_places := '{}';
        new.booking_computed_at := coalesce(new.booking_computed_at, now());
        return new;
    end if;
    if tg_op = 'UPDATE' then
        engine_wrote := new.booking_computed_at is not null
            and (old.booking_computed_at is null
                 or new.booking_computed_at > old.booking_computed_at);
        if not engine_wrote and (
            new.appointments is distinct from old.appointments
            or new.events is distinct from old.events
            or new.clock_start_date is distinct from old.clock_start_date
            or new.pathway_type is distinct from old.pathway_type
            or new.priority is distinct from old.priority
            or new.booking_open_dates is distinct from old.booking_open_dates
            or new.booking_late_dates is distinct from old.booking_late_dates
            or new.booking_open_places is distinct from old.booking_open_places
        ) then
            new.booking_computed_at := null;
        end if;
    elsif new.booking_computed_at is null
          or new.booking_computed_at < now() - interval '10 minutes' then
        -- A new row, or a copied one carrying someone else's old computation.
        new.booking_computed_at := null;
    end if;
    return new;
end
$$;

-- Rows summarised before this migration have open dates but no places: mark them for the
-- booking backfill (a bot-owned column only; the platform's columns and "last modified" are
-- not touched). Until it has run, the digest reads their whole list, as before.
update public.ptl_patients
   set booking_computed_at = null
 where cardinality(booking_open_dates) > 0 and booking_computed_at is not null;
