-- Finding a student's stale rows without reading all of them (issue 13, point 7).
--
-- Before a PTL is paged in SQL, the bot re-evaluates the student's rows whose stored results
-- may not hold for today (storage/backfill.py, STALE_FOR_DAY). Nearly always there are none,
-- so the question must be cheap for a PTL of any size: this partial index holds only rows
-- that are never computed, computed before sql/053, or have a dated input after the day they
-- were computed for; the second index answers "computed for a later day than today" (a clock
-- moved back, as in tests and the console's --today).
create index if not exists ptl_patients_clock_stale_idx
    on public.ptl_patients (lower(user_email))
    where clock_computed_at is null or clock_inputs_until is null or clock_rank is null
       or clock_as_of is null or clock_inputs_until > clock_as_of;

create index if not exists ptl_patients_owner_as_of_idx
    on public.ptl_patients (lower(user_email), clock_as_of);
