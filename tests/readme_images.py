"""Regenerate the README's pictures from the real bot: an /add conversation, a PTL page and a
patient card, a breach digest, the /stats chart and page 1 of a /portfolio PDF.

Run: .venv/bin/python -m tests.readme_images [--out docs/images]

Everything is produced by the project's own code: the real Application on an embedded
Postgres with the real migrations, driven through the offline Bot API as a student would
(`ChatUser`), on a fixed day (Monday 3 Mar 2025). Chat screens are drawn by
`tests/chat_image.py`; the chart is the PNG /stats sends; the portfolio page is the PDF
/portfolio sends, rendered by pdfium. `tests/test_readme_images.py` runs this script, so a
change that breaks it fails the tests. The /add walk-through answers whatever each step
asks (by its buttons and wording), so it follows the form as it changes.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.messages import portfolio as portfolio_text
from bot.runtime.offline import ChatUser, SentMessage
from handlers.reminders import run_reminders
from storage.db import Database
from tests import harness
from tests.chat_image import Entry, Said, render
from tests.ptl_support import add_patient

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
EMAIL = "sam.student@uni.example"
TODAY = harness.TODAY
D = dt.date
LONDON = ZoneInfo("Europe/London")

# The student's fictional PTL for the pictures: (name, start, specialty, type, events).
PTL = [
    ("Gwen Ashdown", TODAY - dt.timedelta(days=131), "Trauma and Orthopaedics", "rtt", []),
    ("Rhys Penhallow", TODAY - dt.timedelta(days=120), "Ear, Nose and Throat", "rtt",
     [("activity", TODAY - dt.timedelta(days=90))]),
    ("Ioan Beddoe", TODAY - dt.timedelta(days=58), "Urology", "cancer_62", []),
    ("Sunita Ravel", TODAY - dt.timedelta(days=370), "Ophthalmology", "rtt", []),
    ("Tomos Evans", TODAY - dt.timedelta(days=40), "Cardiology", "rtt",
     [("activity", TODAY - dt.timedelta(days=20))]),
    ("Mair Lloyd", TODAY - dt.timedelta(days=100), "Dermatology", "rtt",
     [("treatment_started", TODAY - dt.timedelta(days=10))]),
    ("Owain Price", TODAY - dt.timedelta(days=30), "Gastroenterology", "diagnostic", []),
    ("Nia Rowlands", TODAY - dt.timedelta(days=12), "ENT", "rtt", []),
]  # fmt: skip

# What the /add walk-through types when a step asks for text, by a word in its prompt.
TYPED = (
    ("nhs", "999 000 0018"),
    ("name", "Jane O'Neil-Smith"),
    ("consultant", "Mr T. Jones"),
    ("date", "3 weeks ago"),
    ("referral", "3 weeks ago"),
    ("clock start", "2 weeks ago"),  # the day the letter arrived, after its date
    ("note", "Prefers morning appointments"),
)
DEBUG = False
PREFERRED = ("110 Trauma & Ortho", "18-week RTT", "Routine", "Skip »")


def snap(message: SentMessage) -> SentMessage:
    """The message as it looks now (later edits must not change the picture)."""
    return copy.deepcopy(message)


async def walk_add(sam: ChatUser) -> list[Entry]:
    """/add from start to ✅ Save, answering each step; the transcript as the student saw it."""
    shown: list[Entry] = [Said("/add")]
    replies = await sam.send("/add")
    for _ in range(25):
        last = sam.last
        labels = last.button_labels
        if any(label.endswith("Save") for label in labels):
            shown.append(snap(last))
            save = next(label for label in labels if label.endswith("Save"))
            shown.append(Said(f"👆 {save}"))
            replies = await sam.press(save)
            shown.extend(snap(m) for m in replies)
            return shown
        title = next((ln for ln in last.text.splitlines() if ln.startswith("Step")), last.text)
        if DEBUG:
            print("STEP", repr(title), labels)
        shown.append(snap(last))
        choice = next((p for p in PREFERRED if p in labels), None)
        typed = next((value for word, value in TYPED if word in title.lower()), None)
        if typed is not None:
            shown.append(Said(typed))
            replies = await sam.send(typed)
        else:
            others = [label for label in labels if label not in ("« Back", "✖ Cancel")]
            choice = choice or (others[0] if others else None)
            if choice is None:
                raise RuntimeError(f"/add step with neither a question nor buttons: {title!r}")
            shown.append(Said(f"👆 {choice}"))
            replies = await sam.press(choice)
        del replies
    raise RuntimeError("/add did not reach ✅ Save in 25 steps")


async def make_all(db: Database, out: Path) -> list[Path]:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    bot = await harness.make_bot(db)
    written: list[Path] = []
    try:
        await bot.services.links.link(901, 901, EMAIL, "Sam")
        for name, start, specialty, ptype, events in PTL:
            await add_patient(bot, name, start, email=EMAIL, specialty=specialty,
                              pathway_type=ptype, events=events)  # fmt: skip
        sam = bot.user(901)

        # 1. An /add conversation: the last steps, the summary and the saved card.
        transcript = await walk_add(sam)
        path = out / "add.png"
        render(transcript[-7:], "PTL trainer · /add").save(path)
        written.append(path)

        # 2. The PTL, most at risk first, and a patient's card.
        await sam.send("/ptl")
        page = snap(sam.last)
        first = page.button_labels[0]
        await sam.press(first)
        card = snap(sam.last)
        path = out / "ptl-card.png"
        render([Said("/ptl"), page, Said(f"👆 {first}"), card], "PTL trainer · /ptl").save(path)
        written.append(path)

        # 3. The morning's breach digest (08:30, the default time).
        bot.clock.set(dt.datetime(2025, 3, 3, 8, 31, tzinfo=LONDON))
        await run_reminders(bot.app)
        digest = snap(bot.api.sent_to(901)[-1])
        path = out / "digest.png"
        render([digest], "PTL trainer · breach reminder").save(path)
        written.append(path)

        # 4. The /stats chart, as sent.
        replies = await sam.send("/stats")
        chart = next(m for m in replies if m.kind == "photo")
        path = out / "stats-chart.png"
        path.write_bytes(chart.file_bytes or b"")
        written.append(path)

        # 5. Page 1 of the /portfolio PDF.
        await sam.send("/portfolio")
        await sam.press(portfolio_text.NAME_BUTTON)
        await sam.send("Sam Okafor")
        pdf = (await sam.press(portfolio_text.MAKE))[-1].file_bytes or b""
        import pypdfium2 as pdfium

        page_one = pdfium.PdfDocument(pdf)[0].render(scale=110 / 72).to_pil()
        path = out / "portfolio.png"
        page_one.save(path)
        written.append(path)
    finally:
        await harness.close_bot(bot)
    return written


async def main(out: Path) -> None:
    from storage.embedded import embedded_dsn
    from storage.migrations import migrate

    dsn = await embedded_dsn(Path(tempfile.mkdtemp(prefix="ptl-images-")))
    await migrate(dsn)
    db = await Database.connect(dsn, min_size=1, max_size=4)
    try:
        for path in await make_all(db, out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    asyncio.run(main(parser.parse_args().out))
