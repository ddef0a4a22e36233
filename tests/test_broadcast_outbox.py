"""The delivery outbox: restarts resume without duplicates or gaps, a crash mid-call never
leads to a second copy, the pacing and per-chat limits hold, errors are classified."""

from __future__ import annotations

import asyncio
import itertools

from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import (
    TUTOR_EMAIL,
    Class,
    broadcast_simple,
    make_class,
    register_tutoring,
    student_email,
    tutor_bot,
)


def _exercise_count(cls: Class, i: int) -> int:
    return sum(1 for m in cls.students[i].history if m.text.startswith("📚"))


async def _statuses(db: Database) -> dict[str, str]:
    async with db.service() as conn:
        rows = await conn.fetch("select email, status from ptl_bot.exercise_deliveries")
    return {r["email"]: r["status"] for r in rows}


async def test_restart_mid_broadcast_no_duplicate_no_one_missed(db: Database) -> None:
    first = await tutor_bot(db)
    cls = await make_class(first, 12)
    await broadcast_simple(cls)
    report = await cls.worker.drain(max_messages=5)
    assert report.sent == 5
    statuses = await _statuses(db)
    assert sorted(statuses.values()).count("sent") == 5
    assert set(statuses.values()) == {"sent", "pending"}  # unsent claims were given back
    await harness.close_bot(first)

    # A new process on the same database: the start-up hook schedules the outbox job, which
    # resumes from the database by itself.
    second = await harness.make_bot(db, api=cls.api, setup=register_tutoring, start=True)
    try:
        for _ in range(100):
            if set((await _statuses(db)).values()) == {"sent"}:
                break
            await asyncio.sleep(0.1)
        for _ in range(50):  # the final progress edit follows the last send
            if "Delivered to 12 of 12" in cls.tutor.last.text:
                break
            await asyncio.sleep(0.1)
    finally:
        await harness.close_bot(second)
    assert set((await _statuses(db)).values()) == {"sent"}
    assert [_exercise_count(cls, i) for i in range(12)] == [1] * 12
    assert "Delivered to 12 of 12" in cls.tutor.last.text


async def test_graceful_stop_finishes_calls_in_flight(db: Database) -> None:
    settings = harness.test_settings(broadcast_messages_per_second=2)
    bot = await tutor_bot(db, start=True, settings=settings)
    try:
        cls = await make_class(bot, 6)
        cls.api.latency = 0.2
        await broadcast_simple(cls)
        # Stop the application while the job is sending: the in-flight calls complete and
        # are recorded, the rest go back to pending.
        for _ in range(200):
            if "sent" in (await _statuses(db)).values():
                break
            await asyncio.sleep(0.05)
        await bot.app.stop()
    finally:
        await harness.close_bot(bot)
    statuses = await _statuses(db)
    assert "sending" not in statuses.values() and "claimed" not in statuses.values()
    sent = [e for e, s in statuses.items() if s == "sent"]
    assert 1 <= len(sent) < 6
    for i in range(6):
        assert _exercise_count(cls, i) == (1 if student_email(i) in sent else 0)


async def test_crash_mid_call_is_unconfirmed_and_never_resent(db: Database) -> None:
    bot = await tutor_bot(db)
    try:
        cls = await make_class(bot, 4)
        await broadcast_simple(cls)
        # What a killed worker leaves behind: one row whose API call may or may not have
        # gone out, one claimed but never tried. Both leases have lapsed.
        async with db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'sending', attempts = 1,"
                " claim_token = gen_random_uuid(), claimed_at = now() - interval '10 minutes'"
                " where email = $1",
                student_email(0),
            )
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'claimed',"
                " claim_token = gen_random_uuid(), claimed_at = now() - interval '10 minutes'"
                " where email = $1",
                student_email(1),
            )
        report = await cls.worker.drain()
        assert report.sent == 3 and report.unconfirmed == 1 and report.recovered_claims == 1
        statuses = await _statuses(db)
        assert statuses[student_email(0)] == "unconfirmed"
        assert [_exercise_count(cls, i) for i in range(4)] == [0, 1, 1, 1]
        progress = cls.tutor.last
        assert "1 unconfirmed" in progress.text and "never twice" in progress.text
        # Draining again never resends it...
        await cls.worker.drain()
        assert _exercise_count(cls, 0) == 0
        # ...only the tutor's explicit Resend does.
        await cls.tutor.press("🔁 Resend to 1", message=progress)
        await cls.worker.drain()
        assert [_exercise_count(cls, i) for i in range(4)] == [1, 1, 1, 1]
        assert "Delivered to 4 of 4" in progress.text
    finally:
        await harness.close_bot(bot)


async def test_pacing_and_one_message_per_second_per_chat(db: Database) -> None:
    settings = harness.test_settings(broadcast_messages_per_second=10)
    bot = await tutor_bot(db, settings=settings)
    try:
        cls = await make_class(bot, 4)
        await broadcast_simple(cls, title="First")
        await broadcast_simple(cls, title="Second")
        await cls.worker.drain()
        calls = cls.api.calls_to("sendMessage")
        chats = {s.chat_id for s in cls.students}
        sends = [
            c for c in calls
            if int(c.params["chat_id"]) in chats and str(c.params["text"]).startswith("📚")
        ]  # fmt: skip
        assert len(sends) == 8
        gaps = [b.at - a.at for a, b in itertools.pairwise(sends)]
        # At most 10 in any second, and no bursts: pick-ups are 0.1 s apart, the calls also
        # wait for a slot of the shared budget (which varies them by a few milliseconds).
        assert max(sum(1 for c in sends if a.at <= c.at < a.at + 1.0) for a in sends) <= 10
        assert min(gaps) >= 0.05
        for student in cls.students:
            times = [c.at for c in sends if int(c.params["chat_id"]) == student.chat_id]
            assert len(times) == 2 and times[1] - times[0] >= 1.0
            assert _exercise_count(cls, cls.students.index(student)) == 2
    finally:
        await harness.close_bot(bot)


async def test_errors_are_classified(db: Database) -> None:
    bot = await tutor_bot(db)
    try:
        cls = await make_class(bot, 4)
        api = cls.api
        api.fail(cls.students[0].chat_id, "network", times=1, methods={"sendMessage"})
        api.fail(cls.students[1].chat_id, "bad_request", methods={"sendMessage"})
        await bot.services.links.unlink(cls.students[2].user_id)
        await broadcast_simple(cls)
        report = await cls.worker.drain()
        statuses = await _statuses(db)
        assert statuses[student_email(0)] == "sent"  # a 502 is retried
        assert statuses[student_email(1)] == "failed"
        assert statuses[student_email(2)] == "not_linked"
        assert statuses[student_email(3)] == "sent"
        assert report.retried == 1 and report.failed == 1
        assert "1 not linked, 1 failed" in cls.tutor.last.text
        async with db.service() as conn:
            error = await conn.fetchval(
                "select last_error from ptl_bot.exercise_deliveries where email = $1",
                student_email(1),
            )
        assert error.startswith("400:")
    finally:
        await harness.close_bot(bot)


async def test_empty_cohort_sends_nothing(db: Database) -> None:
    bot = await tutor_bot(db)
    try:
        cls = await make_class(bot, 1)
        await bot.services.tutoring.remove_member(TUTOR_EMAIL, cls.cohort_id, student_email(0))
        await cls.tutor.send("/broadcast")
        await cls.tutor.press("Year 1 Group A · 0")
        assert "no members yet" in "\n".join(m.text for m in cls.tutor.history[-3:])
    finally:
        await harness.close_bot(bot)
