"""/progress for a student: their own record of learning, every figure a button.

Tutors keep their /progress (handlers/progress.py: who has done each exercise). This
module's handler runs first (group -1): for a linked student who is not staff it answers
and stops there; for tutors and unlinked users it steps aside, so the tutor handler (or its
"not linked" answer) runs exactly as before.

The figures come from `bot.services.progress` (counted in SQL as the student, under
row-level security). One period is shown at a time, the last 4 weeks or since the student
started, with a button to switch; each figure's button lists the patients behind it, each a
button to the patient card (`card:<patient_id>`).

Callback data (<= 64 bytes):
- `sp:<r|a>`                  the record for the last 4 weeks (r) or since starting (a);
- `sp:<r|a>:<figure key>`     the patients behind a figure (`event:<kind>` for a kind);
- `sp:<r|a>:quiz`             every quiz answer, with the explanation for each wrong one.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.messages import my_progress as text
from bot.messages.html import esc
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.services.container import BotContext
from bot.services.progress import MAIN_FIGURES, StudentRecord, StudentRecordService
from bot.services.progress import Figure as RecordFigure
from handlers.card import MAX_CALLBACK_BYTES
from handlers.guards import Student, current_student, student_only
from handlers.replies import say
from storage.progress import BREACH_QUIET_DAYS

GROUP = -1
MAX_PATIENTS_LISTED = 30
MAX_TEXT = 4000
_DATA = re.compile(r"^sp:([ra])(?::([a-z_]{1,30}(?::[a-z_]{1,40})?))?$")


def record_service(context: BotContext) -> StudentRecordService:
    services = context.services
    return StudentRecordService(services.db, services.settings.tz)


def _period(record: StudentRecord, recent: bool) -> str:
    if recent:
        return text.PERIOD_RECENT.format(
            start=format_date(record.recent_from), end=format_date(record.today)
        )
    if record.started_on is not None:
        return text.PERIOD_ALL.format(start=format_date(record.started_on))
    return text.PERIOD_ALL_NO_START


def _label(key: str) -> str:
    if key.startswith("event:"):
        return text.event_label(key.removeprefix("event:"))
    return text.FIGURE_LABELS[key]


def render_record(record: StudentRecord, recent: bool) -> tuple[str, InlineKeyboardMarkup]:
    period = "r" if recent else "a"
    lines = [text.TITLE.format(date=format_date(record.today)), _period(record, recent), ""]
    buttons: list[InlineKeyboardButton] = []

    def figure_button(figure: RecordFigure) -> None:
        n = figure.count(recent)
        data = f"sp:{period}:{figure.key}"
        if n and len(data.encode()) <= MAX_CALLBACK_BYTES:
            label = text.FIGURE_BUTTON.format(label=clip(_label(figure.key), 28), n=n)
            buttons.append(InlineKeyboardButton(label, callback_data=data))

    for key in MAIN_FIGURES:
        figure = record.figure(key)
        lines.append(text.FIGURE_LINE.format(label=_label(key), n=figure.count(recent)))
        figure_button(figure)
        if key == "events":
            for kind in record.event_kinds:
                if kind.count(recent):
                    lines.append(
                        text.EVENT_LINE.format(label=_label(kind.key), n=kind.count(recent))
                    )
                    figure_button(kind)
    done = record.exercises_done_since(record.recent_from) if recent else len(record.exercises_done)
    lines.append(text.EXERCISES_LINE.format(done=done, total=len(record.exercises)))
    for e in record.exercises:
        if not e.questions:
            continue
        if e.answered:
            lines.append(
                text.QUIZ_LINE.format(
                    title=esc(clip(e.title, 40)), correct=e.correct, questions=e.questions
                )
            )
        else:
            lines.append(text.QUIZ_NOT_ANSWERED.format(title=esc(clip(e.title, 40))))
    lines.extend(
        [
            "",
            text.NOTE_LINE.format(
                note=text.FIGURE_NOTES["breach_let_happen"].format(days=BREACH_QUIET_DAYS)
            ),
            text.TAP_HINT,
        ]
    )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    extras = [
        InlineKeyboardButton(
            text.SHOW_ALL if recent else text.SHOW_RECENT,
            callback_data=f"sp:{'a' if recent else 'r'}",
        )
    ]
    if any(e.answered for e in record.exercises):
        extras.append(InlineKeyboardButton(text.QUIZ_BUTTON, callback_data=f"sp:{period}:quiz"))
    rows.append(extras)
    rows.append([InlineKeyboardButton(text.PORTFOLIO_BUTTON, callback_data="pf:open")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def render_quiz(record: StudentRecord, recent: bool) -> tuple[str, InlineKeyboardMarkup]:
    lines = [text.QUIZ_TITLE, ""]
    answered = [e for e in record.exercises if e.results]
    if not answered:
        lines.append(text.QUIZ_NONE)
    for e in answered:
        lines.append(
            text.QUIZ_EXERCISE.format(title=esc(e.title), correct=e.correct, questions=e.questions)
        )
        for r in e.results:
            if r.correct:
                lines.append(text.QUIZ_RIGHT.format(n=r.question_no, question=esc(r.question)))
            else:
                lines.append(
                    text.QUIZ_WRONG.format(
                        n=r.question_no,
                        question=esc(r.question),
                        chosen=esc(r.chosen),
                        right=esc(r.right_answer),
                    )
                )
                if r.explanation:
                    lines.append(text.QUIZ_EXPLANATION.format(explanation=esc(r.explanation)))
        lines.append("")
    body = "\n".join(lines).strip()
    if len(body) > MAX_TEXT:
        body = body[: MAX_TEXT - 60].rsplit("\n", 1)[0] + "\n" + text.QUIZ_TRUNCATED
    back = InlineKeyboardButton(text.BACK, callback_data=f"sp:{'r' if recent else 'a'}")
    return body, InlineKeyboardMarkup([[back]])


async def render_patients(
    context: BotContext, student: Student, record: StudentRecord, key: str, recent: bool
) -> tuple[str, InlineKeyboardMarkup]:
    figure = record.figure(key)
    ids = figure.patients(recent)
    names = await record_service(context).patient_names(student.email, ids)
    lines = [
        text.PATIENTS_TITLE.format(
            label=esc(_label(key)), period=_period(record, recent), n=figure.count(recent)
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for patient_id, name in list(names.items())[:MAX_PATIENTS_LISTED]:
        data = f"card:{patient_id}"
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            rows.append([InlineKeyboardButton(clip(name, 40), callback_data=data)])
    if not ids:
        lines.append(text.PATIENTS_NONE)
    if len(names) > MAX_PATIENTS_LISTED:
        lines.append(text.PATIENTS_MORE.format(n=len(names) - MAX_PATIENTS_LISTED))
    if len(names) < len(ids):
        lines.append(text.PATIENTS_GONE)
    rows.append([InlineKeyboardButton(text.BACK, callback_data=f"sp:{'r' if recent else 'a'}")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def show_record(update: Update, context: BotContext, student: Student, recent: bool) -> None:
    record = await record_service(context).record(student.email, context.services.clock.today())
    if record.empty:
        await say(update, context, text.EMPTY)
        return
    await say(update, context, *render_record(record, recent))


async def progress_command(update: Update, context: BotContext) -> None:
    """Students get their own record; tutors (and anyone unlinked) go on to the tutor
    handler in group 0, which answers them as before."""
    student = await current_student(update, context)
    if student is None or student.is_tutor:
        return
    await show_record(update, context, student, recent=True)
    raise ApplicationHandlerStop


@student_only
async def progress_callback(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    match = _DATA.match(query.data or "")
    if match is None:
        return
    recent = match.group(1) == "r"
    key = match.group(2)
    if key is None:
        await show_record(update, context, student, recent)
        return
    record = await record_service(context).record(student.email, context.services.clock.today())
    if key == "quiz":
        await say(update, context, *render_quiz(record, recent))
    elif key not in MAIN_FIGURES and not key.startswith("event:"):
        await say(update, context, *render_record(record, recent))  # an old or odd button
    else:
        await say(update, context, *await render_patients(context, student, record, key, recent))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("progress", progress_command), group=GROUP)
    app.add_handler(CallbackQueryHandler(progress_callback, pattern=r"^sp:"))
