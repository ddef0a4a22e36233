-- One send budget per bot token, shared by every replica and job (issue 14, point 10).
-- Telegram's "about 30 messages a second" is counted per bot token, so the schedule of send
-- slots lives here, on the database's clock, where every process books from the same row.
--
--   next_at       the next free slot for anyone (slots are 1/rate apart)
--   bulk_next_at  the next slot broadcasts and reminders may use: they are spaced further
--                 apart, so a slice of every second is always left for answering people
--   paused_until  after a 429 anywhere, nobody sends before Telegram's retry_after
create table if not exists ptl_bot.send_budget (
    bot_id       bigint primary key,
    next_at      timestamptz not null default '-infinity',
    bulk_next_at timestamptz not null default '-infinity',
    paused_until timestamptz not null default '-infinity'
);

-- Book one send slot. `p_bulk_interval` null: a reply (booked at once, however far ahead
-- the next free slot is). Otherwise bulk: booked only if the slot is at most `p_lookahead`
-- seconds away, so bulk never holds slots far ahead of replies; `booked` false tells the
-- caller to ask again in about `wait` seconds. `wait`: seconds from now to the slot.
create or replace function ptl_bot.book_send_slot(
    p_bot_id bigint,
    p_interval float8,
    p_bulk_interval float8,
    p_lookahead float8,
    out booked boolean,
    out wait float8
)
language plpgsql
set search_path = ''
as $$
declare
    budget ptl_bot.send_budget;
    now_ timestamptz;
    slot timestamptz;
begin
    select * into budget from ptl_bot.send_budget where bot_id = p_bot_id for update;
    if not found then
        insert into ptl_bot.send_budget (bot_id) values (p_bot_id) on conflict do nothing;
        select * into budget from ptl_bot.send_budget where bot_id = p_bot_id for update;
    end if;
    now_ := clock_timestamp();  -- read after the lock: the time this booking really happens
    slot := greatest(now_, budget.paused_until, budget.next_at);
    if p_bulk_interval is not null then
        slot := greatest(slot, budget.bulk_next_at);
    end if;
    wait := extract(epoch from slot - now_);
    booked := p_bulk_interval is null or wait <= p_lookahead;
    if booked then
        update ptl_bot.send_budget
        set next_at = slot + make_interval(secs => p_interval),
            bulk_next_at = case
                when p_bulk_interval is null then bulk_next_at
                else slot + make_interval(secs => p_bulk_interval)
            end
        where bot_id = p_bot_id;
    end if;
end
$$;

revoke all on function ptl_bot.book_send_slot(bigint, float8, float8, float8) from public;
