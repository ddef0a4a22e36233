-- The platform's PTL table. It may already exist (possibly in an older shape): create it only
-- if absent, then add any missing column. Nothing here drops or rewrites platform data.

create table if not exists public.ptl_patients (
    id               serial primary key,
    patient_id       text not null unique,
    user_email       text not null,
    patient_name     text,
    nhs_number       text,
    specialty        text,
    referral_date    date,
    clock_start_date date,
    referral_source  text,
    pathway_type     text,
    priority         text,
    current_status   text,
    consultant       text,
    contact_number   text,
    rtt_code         text,
    clock_status     text,
    notes            text,
    appointments     jsonb not null default '[]'::jsonb,
    events           jsonb not null default '[]'::jsonb,
    added_date       timestamptz default now(),
    last_updated     timestamptz default now(),
    created_at       timestamptz default now(),
    updated_at       timestamptz default now()
);

-- An older platform table may lack any of the platform's later columns.
alter table public.ptl_patients
    add column if not exists patient_name     text,
    add column if not exists nhs_number       text,
    add column if not exists specialty        text,
    add column if not exists referral_date    date,
    add column if not exists clock_start_date date,
    add column if not exists referral_source  text,
    add column if not exists pathway_type     text,
    add column if not exists priority         text,
    add column if not exists current_status   text,
    add column if not exists consultant       text,
    add column if not exists contact_number   text,
    add column if not exists rtt_code         text,
    add column if not exists clock_status     text,
    add column if not exists notes            text,
    add column if not exists appointments     jsonb default '[]'::jsonb,
    add column if not exists events           jsonb default '[]'::jsonb,
    add column if not exists added_date       timestamptz default now(),
    add column if not exists last_updated     timestamptz default now(),
    add column if not exists created_at       timestamptz default now(),
    add column if not exists updated_at       timestamptz default now();

-- What the bot adds:
--   version      optimistic concurrency; bumped by the trigger below on EVERY update, so a
--                change made on the web platform also makes a bot edit in flight stale;
--   deleted_at   soft delete (restorable for 30 days from the bot's bin);
--   breach_date, clock_state, clock_computed_at
--                the rules engine's result stored for reminders and ordering (the engine in
--                bot/pathway.py is the only thing that computes them).
alter table public.ptl_patients
    add column if not exists version           integer not null default 1,
    add column if not exists deleted_at        timestamptz,
    add column if not exists breach_date       date,
    add column if not exists clock_state       text,
    add column if not exists clock_computed_at timestamptz;

create or replace function ptl_bot.ptl_patients_touch() returns trigger
    language plpgsql
    as $$
begin
    if tg_op = 'UPDATE' then
        new.version := old.version + 1;
    else
        new.version := 1;
    end if;
    new.updated_at := now();
    return new;
end
$$;

drop trigger if exists ptl_patients_touch on public.ptl_patients;
create trigger ptl_patients_touch
    before insert or update on public.ptl_patients
    for each row execute function ptl_bot.ptl_patients_touch();

-- Indexes: the policies compare lower(user_email), so that expression is indexed; the PTL
-- and reminder queries read live rows by breach date.
create index if not exists ptl_patients_owner_idx
    on public.ptl_patients (lower(user_email));
create index if not exists ptl_patients_owner_breach_idx
    on public.ptl_patients (lower(user_email), breach_date)
    where deleted_at is null;
create unique index if not exists ptl_patients_patient_id_key
    on public.ptl_patients (patient_id);

-- Row-level security: a signed-in student sees and changes only rows carrying their email.
alter table public.ptl_patients enable row level security;

drop policy if exists ptl_patients_select_own on public.ptl_patients;
drop policy if exists ptl_patients_insert_own on public.ptl_patients;
drop policy if exists ptl_patients_update_own on public.ptl_patients;
drop policy if exists ptl_patients_delete_own on public.ptl_patients;

create policy ptl_patients_select_own on public.ptl_patients
    for select to authenticated
    using (lower(user_email) = lower((select auth.jwt() ->> 'email')));
create policy ptl_patients_insert_own on public.ptl_patients
    for insert to authenticated
    with check (lower(user_email) = lower((select auth.jwt() ->> 'email')));
create policy ptl_patients_update_own on public.ptl_patients
    for update to authenticated
    using (lower(user_email) = lower((select auth.jwt() ->> 'email')))
    with check (lower(user_email) = lower((select auth.jwt() ->> 'email')));
create policy ptl_patients_delete_own on public.ptl_patients
    for delete to authenticated
    using (lower(user_email) = lower((select auth.jwt() ->> 'email')));

-- Supabase grants anon everything on new public tables by default: take that back.
revoke all on public.ptl_patients from anon;
grant select, insert, update, delete on public.ptl_patients to authenticated, service_role;
do $$
declare
    seq text := pg_get_serial_sequence('public.ptl_patients', 'id');
begin
    if seq is not null then
        execute format('revoke all on sequence %s from anon', seq);
        execute format('grant usage, select on sequence %s to authenticated, service_role', seq);
    end if;
end
$$;
