"""/add Save is idempotent (issue 14, point 8): a process killed between the insert's commit
and the form's state being stored leaves the form at the summary; pressing Save again after
the restart finds the patient it already wrote instead of adding them twice."""

from __future__ import annotations

from storage.db import Database
from tests import harness
from tests.forms_support import SAM, fill_to, linked, no_error, patients, prompt


async def _snapshot(db: Database) -> tuple[list[dict], list[dict]]:
    async with db.service() as conn:
        conversations = [dict(r) for r in await conn.fetch("select * from ptl_bot.conversations")]
        user_data = [dict(r) for r in await conn.fetch("select * from ptl_bot.user_data")]
    return conversations, user_data


async def _restore(db: Database, snapshot: tuple[list[dict], list[dict]]) -> None:
    conversations, user_data = snapshot
    async with db.service() as conn:
        await conn.execute("delete from ptl_bot.conversations")
        await conn.execute("delete from ptl_bot.user_data")
        for table, rows in (("conversations", conversations), ("user_data", user_data)):
            for row in rows:
                columns = ", ".join(row)
                values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await conn.execute(
                    f"insert into ptl_bot.{table} ({columns}) values ({values})", *row.values()
                )


async def test_save_repeated_after_a_crash_adds_the_patient_once(db: Database) -> None:
    first = await harness.make_bot(db)
    sam = await linked(first)
    await fill_to(sam, "summary")
    summary = prompt(sam)
    save = summary.buttons[0][0].callback_data
    assert save is not None
    before_save = await _snapshot(db)  # the state a crash right after the insert leaves
    no_error(await sam.press("✅ Save", message=summary))
    [saved] = await patients(first)
    await harness.close_bot(first)

    await _restore(db, before_save)  # the form's state write never happened
    second = await harness.make_bot(db, api=first.api)  # the restarted process
    try:
        again = second.user(SAM, "Sam")
        # The student's phone still shows the summary's Save (the crash came first).
        replies = await again.press_data(save, message=summary)
        no_error(replies)
        assert [p.patient_id for p in await patients(second)] == [saved.patient_id]
        assert any(saved.patient_id in m.text for m in replies), [m.text for m in replies]
    finally:
        await harness.close_bot(second)


async def test_each_new_form_gets_its_own_patient(bot: harness.Bot) -> None:
    sam = await linked(bot)
    for _ in range(2):
        await fill_to(sam, "summary")
        no_error(await sam.press("✅ Save", message=prompt(sam)))
    assert len({p.patient_id for p in await patients(bot)}) == 2
