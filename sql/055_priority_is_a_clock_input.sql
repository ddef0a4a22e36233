-- Priority is a clock input again (sql/045): sql/051 redefined this trigger function with a
-- fixed search_path and dropped the priority line, so a platform write that changed only a
-- row's priority (e.g. to Urgent suspected cancer, which keeps an RTT clock running after a
-- first-appointment DNA) left the stored clock, order and status stale until the next edit.
-- The same function as sql/051's, with priority among the inputs.
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
            or new.pathway_type is distinct from old.pathway_type
            or new.priority is distinct from old.priority;
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
