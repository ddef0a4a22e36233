-- Breach reminders: keeping the stored clock fields honest, and the delivery log.
--
-- 1. Stored clock fields (breach_date, clock_state, rtt_code, clock_status, clock_computed_at)
--    are written by the bot's rules engine on every bot write. The web platform writes the
--    same table without them, or changes a row's clock inputs and leaves stale values. The
--    trigger below tells the two apart: the engine always moves `clock_computed_at` forward
--    in the same statement; any other write that changes the inputs (events, clock start,
--    pathway type) or the computed values themselves clears `clock_computed_at`, which marks
--    the row for the bot's backfill (storage/backfill.py), found through a partial index.
--
-- 2. The engine ignores events dated after "today" until their date (a booked treatment date,
--    a future new clock), so a stored result can go stale with time alone. The trigger keeps
--    `clock_inputs_until`, the latest date among the clock start and every event date; a row
--    whose `clock_inputs_until` is later than the last daily refresh may have changed since and
--    is re-evaluated once a day. Rows whose dates are all in the past are final.
--
-- Nothing here rewrites platform data; the trigger only fills bot-owned columns.

alter table public.ptl_patients
    add column if not exists clock_inputs_until date;

create or replace function ptl_bot.ptl_patients_clock_inputs() returns trigger
    language plpgsql
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
    on_date date;
begin
    if tg_op = 'UPDATE' then
        inputs_changed := new.events is distinct from old.events
            or new.clock_start_date is distinct from old.clock_start_date
            or new.pathway_type is distinct from old.pathway_type;
        outputs_changed := new.breach_date is distinct from old.breach_date
            or new.clock_state is distinct from old.clock_state
            or new.rtt_code is distinct from old.rtt_code
            or new.clock_status is distinct from old.clock_status;
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
                raw := left(item ->> 'date', 10);
                continue when raw is null or raw = '';
                if raw ~ '^\d{4}-\d{2}-\d{2}$' then
                    y := substr(raw, 1, 4)::int;
                    m := substr(raw, 6, 2)::int;
                    d := substr(raw, 9, 2)::int;
                    if y >= 1 and m between 1 and 12 and d >= 1
                       and d <= extract(day from make_date(y, m, 1) + interval '1 month' - interval '1 day')
                    then
                        on_date := make_date(y, m, d);
                        if latest is null or on_date > latest then
                            latest := on_date;
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

drop trigger if exists ptl_patients_clock_inputs on public.ptl_patients;
create trigger ptl_patients_clock_inputs
    before insert or update on public.ptl_patients
    for each row execute function ptl_bot.ptl_patients_clock_inputs();

-- Rows the backfill must (re)compute: never computed, or computed before the inputs changed.
create index if not exists ptl_patients_clock_dirty_idx
    on public.ptl_patients (id)
    where clock_computed_at is null or clock_inputs_until is null;
-- Rows whose clock may move with time alone (a dated input later than the last refresh).
create index if not exists ptl_patients_clock_inputs_until_idx
    on public.ptl_patients (clock_inputs_until);
-- Reminder candidates: a student's running clocks by breach date.
create index if not exists ptl_patients_running_breach_idx
    on public.ptl_patients (lower(user_email), breach_date)
    where deleted_at is null and clock_state = 'running';

-- The last day on which every time-dependent row was re-evaluated (one row).
create table if not exists ptl_bot.clock_refresh (
    id                integer primary key default 1 check (id = 1),
    refreshed_through date not null,
    refreshed_at      timestamptz not null default now()
);

-- One row per student per local day, inserted BEFORE anything is sent (the claim), so a
-- restart, a crash mid-run or a second bot instance can never send a second digest.
--   claimed   claimed by a runner; no send attempted yet (safe to re-claim when stale)
--   sending   a send attempt is in flight: the outcome is unknown until it is recorded
--   sent      delivered (message_id recorded)
--   empty     evaluated, nothing to say, nothing sent
--   blocked   Telegram answered 403: the student blocked the bot; link deactivated
--   failed    gave up after bounded retries; Telegram confirmed nothing was delivered
--   uncertain the request may have reached Telegram but no answer came (or the runner
--             died mid-send): never retried, because a second digest is worse than none
create table if not exists ptl_bot.reminder_log (
    id          bigserial primary key,
    email       text not null check (email = lower(btrim(email))),
    local_date  date not null,
    chat_id     bigint not null,
    status      text not null check (status in
                    ('claimed', 'sending', 'sent', 'empty', 'blocked', 'failed', 'uncertain')),
    claimed_by  text not null,
    claimed_at  timestamptz not null,
    finished_at timestamptz,
    attempts    integer not null default 0,
    patients    integer,
    message_id  bigint,
    detail      text,
    unique (email, local_date)
);
-- Stale claims and in-flight sends are looked up by status and age.
create index if not exists reminder_log_open_idx
    on ptl_bot.reminder_log (claimed_at)
    where status in ('claimed', 'sending');
