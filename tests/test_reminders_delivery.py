"""Breach reminders end to end: real Postgres (RLS, migrations), the real Application on the
offline Bot API, and an injected clock. `run_reminders(app)` is exactly what the minute tick
runs; tests call it at chosen moments instead of waiting for the JobQueue."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime.offline import OfflineBotAPI
from bot.services.reminders import stored_fields
from handlers.reminders import JOB_NAME, STARTUP_JOB_NAME, policy, run_reminders, schedule
from storage.db import Database
from storage.models import PatientIn
from tests import harness

LONDON = ZoneInfo("Europe/London")
D = dt.date
MONDAY = D(2025, 3, 3)


def at(bot: harness.Bot, day: dt.date, hh: int, mm: int = 0, *, utc: bool = False) -> None:
    """Set the bot's clock: local (London) wall time, or UTC when `utc`."""
    tz = dt.UTC if utc else LONDON
    bot.clock.set(dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz))


def email_for(uid: int) -> str:
    return f"student{uid}@uni.example"


async def link(bot: harness.Bot, uid: int, **prefs: Any) -> str:
    email = email_for(uid)
    await bot.services.links.link(uid, uid, email, f"Student{uid}")
    if prefs:
        await bot.services.reminders.repo.set_preferences(uid, prefs)
    return email


async def patient(
    bot: harness.Bot,
    email: str,
    name: str,
    start: dt.date,
    *,
    pathway: str = "rtt",
    events: Iterable[dict[str, Any]] = (),
    written_on: dt.date | None = None,
) -> str:
    """Add a patient the way the bot's /add does: inputs plus the engine's stored fields."""
    evs = list(events)
    fields = stored_fields(pathway, start, evs, written_on or bot.clock.today())
    created = await bot.services.patients.add(
        email,
        PatientIn(
            patient_name=name, pathway_type=pathway, clock_start_date=start, events=evs, **fields
        ),
    )
    return created.patient_id


def instant_sleep(bot: harness.Bot) -> list[float]:
    """Replace delivery waits with a recorder, so retries are observable and fast."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy(bot.app).sleep = sleep
    return waits


def texts(api: OfflineBotAPI, chat_id: int) -> list[str]:
    return [m.text for m in api.sent_to(chat_id)]


def digests(api: OfflineBotAPI, chat_id: int) -> list[str]:
    return [t for t in texts(api, chat_id) if t.startswith("⏰ Breach reminder ·")]


async def log_status(bot: harness.Bot, email: str, day: dt.date) -> str | None:
    entry = await bot.services.reminders.repo.entry(email, day)
    return entry.status if entry else None


async def test_digest_at_the_chosen_time_with_the_right_patients(bot: harness.Bot) -> None:
    email = await link(bot, 101)
    today = MONDAY
    breached = await patient(bot, email, "Ada Breached", today - dt.timedelta(days=140))
    soon = await patient(bot, email, "Ben Soon", today - dt.timedelta(days=122))
    await patient(bot, email, "Cy Later", today - dt.timedelta(days=100))  # 27 days to go
    await patient(bot, email, "Di Treated", today - dt.timedelta(days=200), events=[
        {"date": "2025-01-02", "code": "30", "kind": "treatment_started"}])  # fmt: skip
    await patient(bot, email, "Ed Cancer", today - dt.timedelta(days=60), pathway="cancer_62")

    at(bot, today, 8, 29)
    report = await run_reminders(bot.app)
    assert report.sent == 0 and digests(bot.api, 101) == []

    at(bot, today, 8, 30)
    report = await run_reminders(bot.app)
    assert report.sent == 1
    [message] = [m for m in bot.api.sent_to(101) if "Breach reminder" in m.text]
    assert "Ada Breached" in message.text and "Ben Soon" in message.text
    assert "Ed Cancer" in message.text  # 62-day clock: breaches in 3 days
    assert "Cy Later" not in message.text and "Di Treated" not in message.text
    card_data = [b.callback_data for row in message.buttons for b in row]
    assert f"card:{breached}" in card_data and f"card:{soon}" in card_data
    assert await log_status(bot, email, today) == "sent"
    # A patient's button opens their card (handlers/card.py).
    opened = await bot.user(101).press("🔴 1. Ada Breached", message=message)
    assert any("Ada Breached" in m.text and m.message_id != message.message_id for m in opened)

    # Later ticks the same day send nothing more.
    for minute in (31, 45):
        at(bot, today, 8, minute)
        assert (await run_reminders(bot.app)).sent == 0
    at(bot, today, 23, 59)
    await run_reminders(bot.app)
    assert len(digests(bot.api, 101)) == 1

    # Next morning: a new digest.
    at(bot, today + dt.timedelta(days=1), 8, 30)
    assert (await run_reminders(bot.app)).sent == 1
    assert len(digests(bot.api, 101)) == 2


async def test_each_student_at_their_own_time_and_days(bot: harness.Bot) -> None:
    early = await link(bot, 201, reminder_time=dt.time(7, 0), reminder_days="daily")
    default = await link(bot, 202)
    for email in (early, default):
        await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))

    at(bot, MONDAY, 7, 0)
    await run_reminders(bot.app)
    assert (len(digests(bot.api, 201)), len(digests(bot.api, 202))) == (1, 0)
    at(bot, MONDAY, 8, 30)
    await run_reminders(bot.app)
    assert (len(digests(bot.api, 201)), len(digests(bot.api, 202))) == (1, 1)

    saturday = D(2025, 3, 8)
    at(bot, saturday, 12, 0)
    await run_reminders(bot.app)
    assert (len(digests(bot.api, 201)), len(digests(bot.api, 202))) == (2, 1)


async def test_nothing_sent_for_an_empty_or_all_stopped_ptl(bot: harness.Bot) -> None:
    empty = await link(bot, 301)
    stopped = await link(bot, 302)
    await patient(bot, stopped, "Done", MONDAY - dt.timedelta(days=200), events=[
        {"date": "2025-01-02", "code": "30", "kind": "treatment_started"}])  # fmt: skip
    await patient(bot, stopped, "DNA", MONDAY - dt.timedelta(days=200), events=[
        {"date": "2024-09-01", "code": "33", "kind": "dna_first_appointment"}])  # fmt: skip
    await patient(bot, stopped, "Deleted", MONDAY - dt.timedelta(days=200))
    deleted = (await bot.services.patients.list(stopped))[0]
    assert deleted.patient_name == "Deleted"
    await bot.services.patients.soft_delete(stopped, deleted.patient_id, deleted.version)

    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert (report.sent, report.empty) == (0, 2)
    assert bot.api.sent_to(301) == [] and bot.api.sent_to(302) == []
    assert await log_status(bot, empty, MONDAY) == "empty"
    # Checked once: later ticks do not re-check all day.
    at(bot, MONDAY, 9, 1)
    assert (await run_reminders(bot.app)).due == 0


async def test_send_empty_setting_sends_an_all_clear(db: Database) -> None:
    bot = await harness.make_bot(db, settings=harness.test_settings(reminder_send_empty=True))
    try:
        await link(bot, 311)
        at(bot, MONDAY, 9, 0)
        assert (await run_reminders(bot.app)).sent == 1
        assert "Nothing to act on today" in digests(bot.api, 311)[0]
    finally:
        await harness.close_bot(bot)


async def test_muted_students_are_skipped(bot: harness.Bot) -> None:
    muted = await link(bot, 401, reminders_muted=True)
    await patient(bot, muted, "Breached", MONDAY - dt.timedelta(days=150))
    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert report.due == 0 and bot.api.sent_to(401) == []
    assert await log_status(bot, muted, MONDAY) is None


async def test_blocked_student_is_marked_inactive_until_they_link_again(bot: harness.Bot) -> None:
    email = await link(bot, 501)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    bot.api.fail(501, "forbidden")
    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert report.blocked == 1
    assert await bot.services.links.active_for_user(501) is None
    assert await log_status(bot, email, MONDAY) == "blocked"

    bot.api.clear_failures()
    at(bot, MONDAY + dt.timedelta(days=1), 9, 0)
    calls_before = len(bot.api.calls_to("sendMessage"))
    await run_reminders(bot.app)
    assert len(bot.api.calls_to("sendMessage")) == calls_before  # no attempt at all

    await bot.user(501).send("/start")  # unblocked the bot: /start restores the link
    assert await bot.services.links.active_for_user(501) is not None
    at(bot, MONDAY + dt.timedelta(days=2), 9, 0)
    assert (await run_reminders(bot.app)).sent == 1
    assert len(digests(bot.api, 501)) == 1


async def test_flood_control_waits_as_told_then_sends_once(bot: harness.Bot) -> None:
    waits = instant_sleep(bot)
    email = await link(bot, 601)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    bot.api.fail(601, "retry_after", times=2, retry_after=7)
    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert report.sent == 1 and waits == [7.0, 7.0]
    assert len(digests(bot.api, 601)) == 1
    entry = await bot.services.reminders.repo.entry(email, MONDAY)
    assert entry is not None and entry.attempts == 3 and entry.message_id is not None


async def test_network_errors_back_off_then_give_up_without_duplicates(bot: harness.Bot) -> None:
    waits = instant_sleep(bot)
    rules = policy(bot.app)
    flaky = await link(bot, 701)
    down = await link(bot, 702)
    for email in (flaky, down):
        await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    bot.api.fail(701, "network", times=2)
    bot.api.fail(702, "network")  # never recovers
    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert (report.sent, report.failed) == (1, 1)
    assert len(digests(bot.api, 701)) == 1 and digests(bot.api, 702) == []
    base = rules.backoff_base
    assert sorted(waits).count(base) == 2 and 2 * base in waits  # exponential
    failed = await bot.services.reminders.repo.entry(down, MONDAY)
    assert failed is not None and failed.status == "failed"
    assert failed.attempts == rules.max_attempts and "Bad Gateway" in (failed.detail or "")
    # A failed day is not retried by later ticks (nothing is ever sent twice).
    bot.api.clear_failures()
    at(bot, MONDAY, 9, 30)
    assert (await run_reminders(bot.app)).sent == 0


async def test_a_crash_mid_run_and_a_restart_send_nobody_twice(db: Database) -> None:
    api = OfflineBotAPI(latency=0.05)
    first = await harness.make_bot(db, api=api)
    uids = list(range(801, 807))
    for uid in uids:
        email = await link(first, uid)
        await patient(first, email, "Breached", MONDAY - dt.timedelta(days=150))
    policy(first.app).concurrency = 1
    at(first, MONDAY, 9, 0)

    run = asyncio.create_task(run_reminders(first.app))
    # Three delivered, the fourth in flight (polling the recorder: it has no event to await).
    while len(api.calls_to("sendMessage")) < 4:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    run.cancel()  # the process dies mid-send
    await asyncio.gather(run, return_exceptions=True)
    delivered = {uid for uid in uids if digests(api, uid)}
    assert len(delivered) == 3
    await harness.close_bot(first)

    second = await harness.make_bot(db, api=api)  # the restart: a new runner, same database
    try:
        at(second, MONDAY, 9, 1)
        report = await run_reminders(second.app)
        assert report.sent == 0  # the dead runner's claims are not yet stale: hands off
        at(second, MONDAY, 9, 12)
        report = await run_reminders(second.app)
        assert report.reclaimed == 2 and report.sent == 2
        statuses = {
            uid: await log_status(second, email_for(uid), MONDAY) for uid in uids
        }  # fmt: skip
        assert sorted(statuses.values()) == ["sent"] * 5 + ["uncertain"]
        for uid in uids:
            expected = 0 if statuses[uid] == "uncertain" else 1
            assert len(digests(api, uid)) == expected
    finally:
        await harness.close_bot(second)


async def test_two_instances_on_one_database_send_each_digest_once(db: Database) -> None:
    one = await harness.make_bot(db, api=OfflineBotAPI(latency=0.01))
    two = await harness.make_bot(db, api=OfflineBotAPI(latency=0.01))
    try:
        uids = list(range(901, 931))
        for uid in uids:
            email = await link(one, uid)
            await patient(one, email, "Breached", MONDAY - dt.timedelta(days=150))
        for b in (one, two):
            at(b, MONDAY, 8, 30)
            policy(b.app).messages_per_second = 500
        # Without the lease, both run at once and only the claims keep them apart.
        r1, r2 = await asyncio.gather(
            run_reminders(one.app, exclusive=False), run_reminders(two.app, exclusive=False)
        )
        assert r1.sent + r2.sent == len(uids) == r1.claimed + r2.claimed
        for uid in uids:
            assert len(digests(one.api, uid)) + len(digests(two.api, uid)) == 1
        # With the lease (the default), one runs and the other stands aside.
        for b in (one, two):
            at(b, MONDAY + dt.timedelta(days=1), 8, 30)
        r1, r2 = await asyncio.gather(run_reminders(one.app), run_reminders(two.app))
        assert sorted([r1.skipped, r2.skipped]) == [False, True]
        assert r1.sent + r2.sent == len(uids)
        for uid in uids:
            assert len(digests(one.api, uid)) + len(digests(two.api, uid)) == 2
    finally:
        await harness.close_bot(one)
        await harness.close_bot(two)


async def test_clock_change_days_send_once_at_the_local_time(bot: harness.Bot) -> None:
    morning = await link(bot, 1001, reminder_days="daily")
    night = await link(bot, 1002, reminder_days="daily", reminder_time=dt.time(1, 30))
    for email in (morning, night):
        await patient(bot, email, "Breached", D(2024, 9, 1))

    async def sent_between(day: dt.date, hours: Iterable[tuple[int, int]]) -> list[str]:
        """Tick every minute over the given UTC hours; return when each chat got a digest."""
        seen = []
        for hh, mm in hours:
            at(bot, day, hh, mm, utc=True)
            before = {uid: len(digests(bot.api, uid)) for uid in (1001, 1002)}
            await run_reminders(bot.app)
            for uid in (1001, 1002):
                if len(digests(bot.api, uid)) > before[uid]:
                    local = bot.clock.now().strftime("%H:%M %Z")
                    seen.append(f"{uid}@{hh:02d}:{mm:02d}Z={local}")
        return seen

    minutes = [(h, m) for h in range(0, 10) for m in (0, 15, 29, 30, 45)]
    spring = await sent_between(D(2025, 3, 30), minutes)  # clocks go forward at 01:00 UTC
    assert spring == ["1002@01:00Z=02:00 BST", "1001@07:30Z=08:30 BST"]
    autumn = await sent_between(D(2025, 10, 26), minutes)  # clocks go back at 01:00 UTC
    assert autumn == ["1002@00:30Z=01:30 BST", "1001@08:30Z=08:30 GMT"]


async def test_platform_rows_are_backfilled_and_reminded(bot: harness.Bot) -> None:
    email = await link(bot, 1101)
    async with bot.services.db.student(email) as conn:  # the web platform's own insert
        await conn.execute(
            "insert into public.ptl_patients (patient_id, user_email, patient_name,"
            " pathway_type, clock_start_date, events) values"
            " ('PTLWEB1', $1, 'Web Breached', 'routine', $2, $3),"
            " ('PTLWEB2', $1, 'Web Treated', 'routine', $2, $4),"
            " ('PTLWEB3', $1, 'Web Soon', '62day', $5, '[]'::jsonb)",
            email,
            MONDAY - dt.timedelta(days=200),
            [{"date": "2024-09-10", "code": "20", "description": "Outpatient appointment"}],
            [{"date": "2025-01-10", "code": "30", "description": "Admitted for surgery"}],
            MONDAY - dt.timedelta(days=58),
        )
    at(bot, MONDAY, 9, 0)
    report = await run_reminders(bot.app)
    assert report.sent == 1
    [text] = digests(bot.api, 1101)
    assert "Web Breached" in text and "Web Soon" in text and "Web Treated" not in text
    async with bot.services.db.service() as conn:
        rows = await conn.fetch(
            "select patient_id, clock_state, breach_date, clock_computed_at"
            " from public.ptl_patients order by patient_id"
        )
    assert [r["clock_state"] for r in rows] == ["running", "stopped", "running"]
    assert all(r["clock_computed_at"] is not None for r in rows)


async def test_engine_decides_a_booked_treatment_that_has_happened(bot: harness.Bot) -> None:
    """A stored 'running' row whose booked treatment date has arrived is not reminded, even
    before any refresh: the candidates are re-evaluated by the engine for the day."""
    email = await link(bot, 1201)
    await patient(
        bot,
        email,
        "Booked",
        MONDAY - dt.timedelta(days=150),
        written_on=MONDAY,
        events=[{"date": "2025-03-04", "code": "30", "kind": "treatment_started"}],
    )
    service = bot.services.reminders
    [recipient] = await service.repo.recipients(email)
    monday = await service.compose([recipient], MONDAY)
    tuesday = await service.compose([recipient], MONDAY + dt.timedelta(days=1))
    assert [i.name for i in monday[email].items()] == ["Booked"]
    assert tuesday[email].is_empty


async def test_a_stale_claim_from_yesterday_is_closed_not_sent(bot: harness.Bot) -> None:
    email = await link(bot, 1301)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    service = bot.services.reminders
    [recipient] = await service.repo.recipients(email)
    yesterday = MONDAY - dt.timedelta(days=1)
    at(bot, yesterday, 9, 0)
    await service.repo.claim([recipient], local_date=yesterday, runner="dead", now=bot.clock.now())
    at(bot, MONDAY, 7, 0)  # before today's send time
    report = await run_reminders(bot.app)
    assert report.sent == 0 and bot.api.sent_to(1301) == []
    assert await log_status(bot, email, yesterday) == "failed"


async def test_jobs_are_built_at_start_up_and_rebuilt_idempotently(db: Database) -> None:
    bot = await harness.make_bot(db)
    try:
        jq = bot.app.job_queue
        assert jq is not None
        [tick] = jq.get_jobs_by_name(JOB_NAME)
        assert tick.job.trigger.interval == dt.timedelta(seconds=60)
        schedule(bot.app)
        await asyncio.sleep(0)
        assert len([j for j in jq.jobs() if j.name == JOB_NAME and not j.removed]) == 1
    finally:
        await harness.close_bot(bot)


async def test_a_started_bot_catches_up_on_due_reminders(db: Database) -> None:
    """The real JobQueue: the start-up run sends a digest that is due, without a test call."""
    setup_bot = await harness.make_bot(db)
    email = await link(setup_bot, 1401)
    await patient(setup_bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    await harness.close_bot(setup_bot)

    bot = await harness.make_bot(db, start=True)
    try:
        assert bot.app.job_queue is not None
        assert bot.app.job_queue.get_jobs_by_name(STARTUP_JOB_NAME)
        for _ in range(100):
            if digests(bot.api, 1401):
                break
            await asyncio.sleep(0.05)
        assert len(digests(bot.api, 1401)) == 1
    finally:
        await harness.close_bot(bot)
