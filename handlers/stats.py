"""/stats: the PTL in figures, plus a chart of waiting times per standard, in reporting bands.

Figures come from `bot.services.stats.summarise` over the engine's clocks; the chart is drawn by
`bot.services.charts` in a worker thread (it takes tens of milliseconds of CPU), so other students'
updates are not held up while it renders.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import stats as text
from bot.messages.html import esc
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.services import charts
from bot.services.container import BotContext
from bot.services.stats import RTT_STANDARD_PERCENT, Summary
from handlers.guards import Student, student_only
from handlers.replies import show_action

log = logging.getLogger(__name__)
MAX_SPECIALTIES = 12


def _weeks_days(days: float) -> str:
    whole = int(days)
    shown_days = f"{days:g}" if days != whole else str(whole)
    return text.WEEKS_DAYS.format(weeks=whole // 7, days=shown_days)


def render_summary(summary: Summary, today_text: str) -> str:
    s = summary
    lines = [text.TITLE.format(date=today_text), ""]
    lines.append(
        text.PATIENTS.format(
            total=s.total,
            waiting=s.waiting,
            closed=s.closed,
            no_clock=text.NO_CLOCK.format(n=s.no_clock) if s.no_clock else "",
        )
    )
    lines.append(text.STATUS.format(breached=s.breached, at_risk=s.at_risk, on_track=s.on_track))
    lines.append(
        text.BOOKINGS.format(
            dated=s.dated,
            undated=s.undated,
            waiting=s.waiting,
            late=s.booked_after_breach,
            outcomes=s.outcomes_needed,
        )
    )
    if s.long_wait_total:
        # Only the higher thresholds, cumulatively: "21 (of them, 5 more than 65 weeks)",
        # never "21 (21 at 52+ weeks)".
        parts = [
            text.LONG_WAIT_PART.format(n=s.long_waits_over(weeks), weeks=weeks)
            for weeks in sorted(s.long_waits)
            if weeks > 52
        ]
        detail = text.LONG_WAIT_DETAIL.format(parts=", ".join(parts)) if parts else ""
        lines.append(text.LONG_WAITS.format(n=s.long_wait_total, detail=detail))
    else:
        lines.append(text.NO_LONG_WAITS)
    if s.median_days is not None and s.longest_days is not None:
        lines.append(
            text.WAITS.format(
                median=_weeks_days(s.median_days), longest=_weeks_days(s.longest_days)
            )
        )
    else:
        lines.append(text.NOBODY_WAITING)
    percent = s.rtt_percent_within_18
    if percent is not None:
        lines.append(
            text.RTT_18.format(
                within=s.rtt_within_18,
                total=s.rtt_waiting,
                percent=percent,
                standard=RTT_STANDARD_PERCENT,
            )
        )
    lines.extend(["", text.SPECIALTY_TITLE])
    for line in s.by_specialty[:MAX_SPECIALTIES]:
        lines.append(
            text.SPECIALTY_LINE.format(
                name=esc(clip(line.name, 40)),
                waiting=line.waiting,
                breached=line.breached,
                longest=text.WEEKS_SHORT.format(weeks=line.longest_days // 7)
                if line.waiting
                else "–",
            )
        )
    if len(s.by_specialty) > MAX_SPECIALTIES:
        lines.append(text.SPECIALTY_MORE.format(n=len(s.by_specialty) - MAX_SPECIALTIES))
    return "\n".join(lines)


async def send_stats(update: Update, context: BotContext, student: Student) -> None:
    summary = await context.services.ptl.summary(student.email)
    if not summary.total:
        await context.bot.send_message(student.chat_id, text.EMPTY)
        return
    today = context.services.clock.today()
    await context.bot.send_message(student.chat_id, render_summary(summary, format_date(today)))
    if not summary.waiting:
        return
    await show_action(context, student.chat_id, ChatAction.UPLOAD_PHOTO)
    png = await asyncio.to_thread(charts.waiting_chart_png, summary.by_standard)
    await context.bot.send_photo(
        student.chat_id, photo=png, filename=f"ptl-waits-{today.isoformat()}.png",
        caption=text.CHART_CAPTION,
    )  # fmt: skip


@student_only
async def stats_command(update: Update, context: BotContext, student: Student) -> None:
    await send_stats(update, context, student)


@student_only
async def stats_menu(update: Update, context: BotContext, student: Student) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_stats(update, context, student)


async def _warm_charts(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Import matplotlib in the background (about a second) so the first /stats is quick.
    Not awaited: start-up doesn't wait for it."""
    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, charts.warm_up)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from bot.hooks import add_startup_hook

    app.add_handler(CommandHandler("stats", stats_command))
    app.add_handler(CallbackQueryHandler(stats_menu, pattern=r"^menu:stats$"))
    add_startup_hook(app, _warm_charts)
