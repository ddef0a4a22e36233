"""`ended` (rules contract r2) on every screen and output that shows a status.

A cancer pathway that ends without a reported stop (here: cancer ruled out on a 62-day
pathway, after its breach date) is never a breach and is not reported against the standard.
One patient like that, beside a breached and a treated one, is written the real way and then
looked at through the real Application on the offline Bot API: the PTL list and its filters,
the card, the breach digest, /stats, /export, the student's /progress and the tutor's
/students summary. A screen that forgot `ended` would show it as breached, as stopped late,
or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.messages import my_progress as progress_text
from bot.rules.pathway import EVENT_KINDS, STATUSES
from handlers.reminders import run_reminders
from tests import harness
from tests.harness import TODAY
from tests.ptl_support import add_patient
from tests.test_tutor_helpers import make_class, student_email

LONDON = ZoneInfo("Europe/London")
ENDED_ON = date(2025, 2, 20)  # day 80 of a 62-day clock that started on 2 Dec 2024


async def _ptl(bot: harness.Bot):  # type: ignore[no-untyped-def]
    cls = await make_class(bot, 1)
    email = student_email(0)
    ended = await add_patient(
        bot,
        "Enid Ended",
        date(2024, 12, 2),
        email=email,
        pathway_type="cancer_62",
        priority="Urgent suspected cancer",
        events=[("activity", date(2024, 12, 12)), ("cancer_ruled_out", ENDED_ON)],
    )
    await add_patient(bot, "Bea Breached", TODAY - timedelta(days=140), email=email)
    await add_patient(
        bot,
        "Sid Stopped",
        TODAY - timedelta(days=60),
        email=email,
        events=[("treatment_started", TODAY - timedelta(days=3))],
    )
    return cls, ended


def _line(text: str, name: str) -> str:
    [line] = [ln for ln in text.splitlines() if name in ln]
    return line


async def test_an_ended_pathway_on_every_screen(bot: harness.Bot) -> None:
    cls, ended = await _ptl(bot)
    assert (ended.clock_state, ended.clock_breached) == ("ended", False)
    student = cls.students[0]

    # The PTL list: its own mark and words, counted as closed, after the open clocks.
    (ptl,) = await student.send("/ptl")
    line = _line(ptl.text, "Enid Ended")
    assert line.startswith("3. ⬜ ") and "20 Feb 2025" in line and "not reported" in line
    assert "breach" not in line.lower()
    assert "🔴 1 breached · 🟠 0 at risk · 🟢 0 on track · ⚪ 2 closed" in ptl.text

    # Filters: not among the breached, among the closed.
    await student.press("Status: All ▾")
    (breached,) = await student.press("🔴 Breached")
    assert "Bea Breached" in breached.text and "Enid Ended" not in breached.text
    await student.press("Status: 🔴 Breached ▾")
    (closed,) = await student.press("Closed / no clock")
    assert "Enid Ended" in closed.text and "Bea Breached" not in closed.text

    # The card: the status by name, and that it is not reported and never a breach.
    (card,) = await student.press(next(b for b in closed.button_labels if "Enid Ended" in b))
    assert STATUSES["ended"] in card.text and "⬜" in card.text
    assert re.search(r"not reported against the (62-day )?standard", card.text)
    assert "never a breach" in card.text
    assert EVENT_KINDS["cancer_ruled_out"].label in card.text
    assert not re.search(r"breached \d+ days ago|after the breach date|stopped late", card.text)

    # /stats: one waiting (breached), two closed; the ended pathway is not a breach.
    figures = (await student.send("/stats"))[0]
    assert "Patients: 3 (1 waiting, 2 closed)" in figures.text
    assert "🔴 Breached: 1 · 🟠 At risk: 0 · 🟢 On track: 0" in figures.text

    # /export: the status label, no breach, the date and event that ended it.
    doc = (await student.send("/export"))[-1]
    table = csv.DictReader(io.StringIO((doc.file_bytes or b"").decode("utf-8-sig")))
    rows = {r["Patient name"]: r for r in table}
    enid = rows["Enid Ended"]
    assert enid["Status"] == "Ended, not reported" == STATUSES["ended"]
    assert (enid["Breached"], enid["Days to breach"]) == ("No", "")
    ruled_out = EVENT_KINDS["cancer_ruled_out"].label
    assert (enid["Clock stop"], enid["Stopped by"]) == ("2025-02-20", ruled_out)
    assert rows["Bea Breached"]["Breached"] == "Yes"

    # The student's own record: neither a clock stopped in time nor late, nor a breach.
    (record,) = await student.send("/progress")
    labels = progress_text.FIGURE_LABELS
    assert f"{labels['stopped_in_time']}: 1" in record.text  # Sid, treated on day 57
    assert f"{labels['stopped_late']}: 0" in record.text
    (since,) = await student.press(progress_text.SHOW_ALL)
    assert f"{labels['stopped_late']}: 0" in since.text

    # The tutor's cohort summary: one breach on this student's PTL, not two.
    tutor = cls.tutor
    await tutor.send("/students")
    (summary,) = await tutor.press("Year 1 Group A · 1")
    assert f"{student_email(0)}\n    PTL 3 · breached 1" in summary.text


async def test_an_ended_pathway_is_not_in_the_breach_digest(bot: harness.Bot) -> None:
    await _ptl(bot)
    # The default digest time, 08:30 in London, on the fixed "today".
    bot.clock.set(dt.datetime(TODAY.year, TODAY.month, TODAY.day, 8, 30, tzinfo=LONDON))
    report = await run_reminders(bot.app)
    assert report.sent == 1
    [digest] = [m.text for m in bot.api.sent_to(1000) if m.text.startswith("⏰ Breach reminder")]
    assert "Bea Breached" in digest
    assert "Enid Ended" not in digest and "Sid Stopped" not in digest
