-- One runner at a time for jobs that pace themselves against Telegram's per-bot limits
-- (breach reminders): a lease row, renewed while the run lasts, taken over once it expires.
-- A row, not a session advisory lock, so it behaves the same through Supabase's transaction
-- pooler, where a session lock could be left behind on a pooled server connection.
create table if not exists ptl_bot.job_leases (
    name       text primary key,
    holder     text not null,
    expires_at timestamptz not null
);
