-- Bookings (issue 16): what SQL needs to page, filter, count and remind by a patient's bookings.
--
-- The bookings themselves live in the platform's own `appointments` column (a JSON list; its
-- shape is documented in the README). What a booking means for the clock is decided by the
-- rules engine in Python, so the bot stores two summaries of it next to the clock fields:
--
--   booking_open_dates   every open booking's date (booked, no outcome yet), ascending. On day
--                        D the next booking is the first date on or after D; any date before D
--                        is a booking whose outcome is still needed;
--   booking_late_dates   the open bookings the engine says come too late: the patient will
--                        have breached by then;
--   booking_computed_at  when the engine last wrote the two (null: to be computed).
--
-- Neither summary depends on "today", so they never go stale with time alone. The trigger below
-- marks a row for the bot's booking backfill (storage/booking_backfill.py) when another writer
-- (the web platform) changes what they are computed from, or changes them without the engine.
-- A row with no bookings needs no engine: the trigger fills its summaries itself. Nothing here
-- touches a platform column.

alter table public.ptl_patients
    add column if not exists booking_open_dates  date[] not null default '{}',
    add column if not exists booking_late_dates  date[] not null default '{}',
    add column if not exists booking_computed_at timestamptz;

create or replace function ptl_bot.ptl_patients_booking_inputs() returns trigger
    language plpgsql
    set search_path = ''
    as $$
declare
    has_bookings boolean;
    engine_wrote boolean;
begin
    has_bookings := jsonb_typeof(new.appointments) = 'array'
        and jsonb_array_length(new.appointments) > 0;
    if not has_bookings then
        -- No list of bookings (or an empty one): nothing is open, nothing is late.
        new.booking_open_dates := '{}';
        new.booking_late_dates := '{}';
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

drop trigger if exists ptl_patients_booking_inputs on public.ptl_patients;
create trigger ptl_patients_booking_inputs
    before insert or update on public.ptl_patients
    for each row execute function ptl_bot.ptl_patients_booking_inputs();

-- Rows with bookings the engine has not summarised yet (the platform wrote them). Rows with
-- no bookings never need the engine, whatever their booking_computed_at.
create index if not exists ptl_patients_booking_dirty_idx
    on public.ptl_patients (id)
    where booking_computed_at is null and appointments is not null
      and appointments <> '[]'::jsonb;
-- Reminder candidates and tutor counts: a student's live rows that have open bookings.
create index if not exists ptl_patients_open_bookings_idx
    on public.ptl_patients (lower(user_email))
    where deleted_at is null and cardinality(booking_open_dates) > 0;

-- Rows that existed before this migration are not updated here (an update would fire the
-- platform's triggers: version, updated_at): those with bookings match the index above and are
-- summarised by the backfill; the column defaults are already right for the rest.
