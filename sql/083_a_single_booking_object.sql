-- A single booking object is a booking (issue 16: bookings the web platform writes in another
-- shape are shown as best they can be).
--
-- Every screen reads an `appointments` value that is one JSON object, not a list, as one
-- read-only booking (bot.rules.bookings.decode_bookings). The summaries' trigger (sql/080)
-- read it as "no bookings": it filled the summaries itself with nothing open, so the PTL's
-- booking filters, the tutor's counts and the daily digest never saw that booking while the
-- card showed it. Now an object is summarised by the rules engine like a list (the booking
-- backfill already picks up any value but null and '[]'); everything else is unchanged.
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

-- Rows already holding one object were summarised as "nothing open": mark them for the
-- booking backfill (a bot-owned column only; the platform's columns are not touched).
update public.ptl_patients
   set booking_computed_at = null
 where jsonb_typeof(appointments) = 'object' and booking_computed_at is not null;
