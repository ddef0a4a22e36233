"""`python -m bot reminders preview [--date YYYY-MM-DD] [--email EMAIL]`.

Why in the runtime: the preview opens the database itself and prints plain text to the
terminal (the offline Bot API's HTML-to-text reading), which are entry-point concerns; what it
prints comes from the reminder service and the digest wording, exactly as a real send would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from typing import Any

from bot.config import Settings
from bot.messages import reminders as text
from bot.rules.clock import SystemClock
from bot.runtime.database import open_database
from bot.runtime.offline import html_to_plain
from bot.services.reminders import ReminderService


def add_reminders_parser(sub: Any) -> None:
    """Register the `reminders` subcommand on the CLI's subparsers."""
    reminders = sub.add_parser(
        "reminders",
        help="preview breach reminders: who would receive what on a date (nothing is sent)",
        description="Prints each linked student's digest for a date as plain text, without "
        "sending or recording anything. For the operator, and for tutors preparing a class.",
    )
    actions = reminders.add_subparsers(dest="action", metavar="ACTION", required=True)
    preview = actions.add_parser("preview", help="print the digests for a date without sending")
    preview.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the day to preview (default: today, UK time)"
    )
    preview.add_argument("--email", metavar="EMAIL", help="only this student's digest")
    preview.set_defaults(func=_run_preview_command)


def _run_preview_command(args: Any, settings: Settings) -> int:
    day: dt.date | None = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date.strip())
        except ValueError:
            print(f"--date {args.date!r}: use YYYY-MM-DD, e.g. 2025-03-03.", file=sys.stderr)
            return 2
    return asyncio.run(_preview(settings, day, args.email, sys.stdout))


async def _preview(settings: Settings, day: dt.date | None, email: str | None, out: Any) -> int:
    db = await open_database(settings)
    try:
        service = ReminderService(db, settings, SystemClock(settings.timezone))
        lines = await preview_lines(service, day or service.clock.today(), email)
    finally:
        await db.close()
    print("\n".join(lines), file=out)
    return 0 if lines and not lines[0].startswith("No ") else 1


async def preview_lines(
    service: ReminderService, day: dt.date, email: str | None = None
) -> list[str]:
    """The preview as plain-text lines: a heading per student, the digest they would get,
    its buttons, and a summary. Reads only; sends and records nothing."""
    entries = await service.preview(day, email)
    if not entries:
        who = f"for {email.strip().lower()}" if email else "at all"
        return [f"No active Telegram link {who}: nobody would receive a reminder."]
    lines: list[str] = []
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        r = entry.recipient
        lines.append(text.preview_heading(r.email, entry.prefs, entry.outcome, entry.logged))
        if entry.outcome in ("send", "send_empty") or (email and not entry.digest.is_empty):
            body, listed = text.digest_text(entry.digest)
            lines.extend("   " + line if line else "" for line in html_to_plain(body).split("\n"))
            buttons = [text.button_label(n, item) for n, item in enumerate(listed, start=1)]
            buttons += [text.PTL_BUTTON, text.SETTINGS_BUTTON]
            lines.append("   [" + "] [".join(buttons) + "]")
        lines.append("")
    lines.append(text.preview_summary(day, counts))
    return lines
