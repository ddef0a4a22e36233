"""A worked-out PTL is reused only while nothing has changed (issue 13, point 7; sql/056).

Working out a PTL's header counts and order is a pass over all of a student's rows, so
`storage.ptl_pages.PtlPages` keeps the result and reuses it for the next page, filter press or
/ptl. That is only safe if every write to the student's rows, by anyone, moves the student's
change counter on. These tests write every way rows are written (the bot, the web platform
through the Data API, the backfill, the bin, the purge, a row given to another student) and
check the counter and what the next page shows; and that a kept result is used at all, and
kept within its bounds.
"""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.ptl import PAGE_SIZE
from storage.ptl_pages import PtlPages
from tests import platform_api
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link

OTHER = "kim@student.example"


async def _revision(bot: Bot, email: str = EMAIL) -> int:
    return await bot.services.ptl.pages.revision(email)


async def _screen(bot: Bot, email: str = EMAIL, status: str = "all", page: int = 0):  # type: ignore[no-untyped-def]
    return await bot.services.ptl.screen(
        email, page=page, status=status, ptype="all", booking="all", size=PAGE_SIZE
    )


async def test_every_write_to_a_students_rows_moves_their_counter_on(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, OTHER, "Kim")
    seen = [await _revision(bot)]
    other = await _revision(bot, OTHER)
    assert seen == [0]

    def moved() -> None:
        assert seen[-1] > seen[-2], "this write did not move the student's counter"

    bots = await add_patient(bot, "Bot Row", TODAY - dt.timedelta(days=30))
    seen.append(await _revision(bot))
    moved()
    await platform_api.insert(bot.services.db, EMAIL, "PLAT1", clock_start_date=TODAY)
    seen.append(await _revision(bot))
    moved()
    await platform_api.update(bot.services.db, EMAIL, "PLAT1", patient_name="Renamed")
    seen.append(await _revision(bot))
    moved()
    async with bot.services.db.service() as conn:  # a machine write (backfill, re-check)
        await conn.execute(
            "update public.ptl_patients set clock_rank = 0 where patient_id = 'PLAT1'"
        )
    seen.append(await _revision(bot))
    moved()
    binned = await bot.services.patients.soft_delete(
        EMAIL, bots.patient_id, bots.version, at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    seen.append(await _revision(bot))
    moved()
    assert await bot.services.patients.purge_all_bins(dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    seen.append(await _revision(bot))
    moved()
    assert binned.patient_id not in {r["patient_id"] for r in await platform_api.select(
        bot.services.db, EMAIL)}  # fmt: skip
    # Nothing of Sam's moved Kim's counter; a row given to Kim moves both.
    assert await _revision(bot, OTHER) == other
    async with bot.services.db.service() as conn:
        await conn.execute(
            "update public.ptl_patients set user_email = $1 where patient_id = 'PLAT1'", OTHER
        )
    seen.append(await _revision(bot))
    moved()
    assert await _revision(bot, OTHER) > other
    # The counter is the bot's: a student's token can neither read nor move it.
    async with platform_api.platform(bot.services.db, EMAIL) as conn:
        with pytest.raises(Exception, match="permission denied"):
            await conn.fetchval("select revision from ptl_bot.ptl_revisions")


async def test_a_kept_ptl_is_reused_until_the_rows_change(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await link(bot)
    for i in range(PAGE_SIZE + 3):
        await add_patient(bot, f"Patient {i:02d}", TODAY - dt.timedelta(days=20 + i))
    pages = bot.services.ptl.pages
    worked = 0
    work_out = PtlPages._work_out

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal worked
        worked += 1
        return await work_out(*args, **kwargs)

    monkeypatch.setattr(PtlPages, "_work_out", staticmethod(counted))
    first = await _screen(bot)
    second = await _screen(bot, page=1)
    again = await _screen(bot)
    assert worked == 1, "the second page and the repeat should reuse the worked-out PTL"
    assert [e.patient.patient_id for e in again.entries] == [
        e.patient.patient_id for e in first.entries
    ]
    assert len(second.entries) == 3 and second.page == 1
    # Another filter is another result; a change to one row works the PTL out again.
    await _screen(bot, status="br")
    assert worked == 2
    await platform_api.update(
        bot.services.db, EMAIL, first.entries[-1].patient.patient_id, patient_name="Aaa"
    )
    await _screen(bot)
    assert worked == 3
    assert len(pages._kept) == 2  # the "all" view was replaced, not kept twice


async def test_the_next_page_after_any_change_shows_it(bot: Bot) -> None:
    """Through the Application: /ptl, then the web platform adds a breached patient and
    renames another, then the bot bins one: each next /ptl or page press shows the change."""
    await link(bot)
    for i in range(4):
        await add_patient(bot, f"Patient {i}", TODAY - dt.timedelta(days=10 + i))
    sam = bot.user(901)
    reply = (await sam.send("/ptl"))[0]
    assert "4 patients" in reply.text and "Breached Late" not in reply.text
    await platform_api.insert(
        bot.services.db, EMAIL, "PLATLATE", patient_name="Breached Late",
        clock_start_date=TODAY - dt.timedelta(days=200),
    )  # fmt: skip
    reply = (await sam.send("/ptl"))[0]
    assert "5 patients" in reply.text
    assert reply.text.index("Breached Late") < reply.text.index("Patient 3")
    await platform_api.update(bot.services.db, EMAIL, "PLATLATE", patient_name="Now Renamed")
    reply = (await sam.send("/ptl"))[0]
    assert "Now Renamed" in reply.text and "Breached Late" not in reply.text
    target = (await bot.services.patients.find(EMAIL, "Patient 0"))[0]
    await bot.services.patients.soft_delete(EMAIL, target.patient_id, target.version)
    reply = (await sam.send("/ptl"))[0]
    assert "4 patients" in reply.text and "Patient 0" not in reply.text


async def test_a_new_day_works_the_ptl_out_again(bot: Bot) -> None:
    """Nothing is written overnight, yet the statuses move: the day is part of what is kept."""
    await link(bot)
    # RTT: the breach date is the day after 18 weeks (126 days) have been waited.
    await add_patient(bot, "Breaches Tomorrow", TODAY - dt.timedelta(days=126))
    assert (await _screen(bot)).statuses["breached"] == 0
    bot.clock.set(TODAY + dt.timedelta(days=1))
    assert (await _screen(bot)).statuses["breached"] == 1


async def test_one_students_kept_ptl_is_never_anothers(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, OTHER, "Kim")
    await add_patient(bot, "Sam's Patient", TODAY - dt.timedelta(days=30))
    await add_patient(bot, "Kim's Patient", TODAY - dt.timedelta(days=30), email=OTHER)
    sam = await _screen(bot)
    kim = await _screen(bot, OTHER)
    assert [e.patient.patient_name for e in sam.entries] == ["Sam's Patient"]
    assert [e.patient.patient_name for e in kim.entries] == ["Kim's Patient"]


async def test_kept_ptls_stay_within_their_bounds(bot: Bot) -> None:
    await link(bot)
    for i in range(6):
        await add_patient(bot, f"Patient {i}", TODAY - dt.timedelta(days=20 + i))
    pages = bot.services.ptl.pages
    pages.KEEP_IDS = 10  # type: ignore[misc]
    for status in ("all", "br", "ar", "ot"):
        await _screen(bot, status=status)
    assert pages._kept_ids == sum(len(w.ids) for w in pages._kept.values()) <= 10
    pages.KEEP = 2  # type: ignore[misc]
    for status in ("all", "br", "ar"):
        await _screen(bot, status=status)
    assert len(pages._kept) <= 2


async def test_without_the_counter_triggers_nothing_is_reused(bot: Bot) -> None:
    """Should anyone disable or drop sql/056's triggers, an unchanged counter no longer means
    unchanged rows: every page is worked out again, and a platform edit shows at once."""
    await link(bot)
    await add_patient(bot, "Before", TODAY - dt.timedelta(days=30))
    await _screen(bot)
    async with bot.services.db.service() as conn:
        await conn.execute(
            "alter table public.ptl_patients disable trigger ptl_patients_revise_insert"
        )
    assert await _revision(bot) is None
    await platform_api.insert(bot.services.db, EMAIL, "PLATNEW", clock_start_date=TODAY)
    screen = await _screen(bot)
    assert screen.total == 2
    assert not bot.services.ptl.pages._kept


async def test_a_write_committed_while_a_page_is_worked_out_is_seen_next_time(bot: Bot) -> None:
    """The platform's transaction is still open (its counter move not yet visible) while the
    bot works the PTL out and keeps it; once it commits, the next page shows its row."""
    await link(bot)
    await add_patient(bot, "Already There", TODAY - dt.timedelta(days=30))
    async with platform_api.platform(bot.services.db, EMAIL) as conn:
        await conn.execute(
            "insert into public.ptl_patients (patient_id, user_email, patient_name,"
            " pathway_type, clock_start_date) values ('PLATMID', $1, 'Mid Write', 'rtt', $2)",
            EMAIL,
            TODAY - dt.timedelta(days=200),
        )
        during = await _screen(bot)  # does not wait for the platform's transaction
        assert during.total == 1
    after = await _screen(bot)
    assert after.total == 2
    assert after.entries[0].patient.patient_name == "Mid Write"
