"""/progress (an exercise: delivered, opened, started, done, quiz scores, who has not opened
it) and /students (a cohort: each member's PTL size, breaches and last activity).

All figures come from `services.tutoring`, i.e. the `ptl_tutor` functions run as the tutor:
the database checks the cohort is theirs and returns summaries only. Long lists are paged in
place; the full table is one tap away as a CSV.

"Opened" means the student did something with the exercise (a button, a quiz answer):
Telegram does not tell bots when a message is read.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import tutors as text
from bot.rules.dates import format_date
from bot.services.container import BotContext
from handlers.guards import Student, tutor_only
from handlers.replies import say as _say
from storage.tutoring import NotYourCohortError, ProgressRow

PER_PAGE = 25
NOT_OPENED_SHOWN = 30


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


def _when(context: BotContext, stamp: datetime | None) -> str:
    if stamp is None:
        return text.NEVER
    return format_date(stamp.astimezone(context.services.settings.tz).date())


def _stage(row: ProgressRow) -> str:
    if row.done_at is not None:
        return "done"
    if row.started_at is not None:
        return "started"
    if row.opened_at is not None:
        return "opened"
    if row.status in ("claimed", "sending"):
        return "pending"
    return row.status


def _pages(n: int) -> int:
    return max(1, (n + PER_PAGE - 1) // PER_PAGE)


def _nav(prefix: str, ident: int, page: int, pages: int) -> list[InlineKeyboardButton]:
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text.PREV, callback_data=f"{prefix}:{ident}:{page - 1}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(text.NEXT, callback_data=f"{prefix}:{ident}:{page + 1}"))
    return nav


# --- /progress ----------------------------------------------------------------------------


@tutor_only
async def progress_command(update: Update, context: BotContext, student: Student) -> None:
    await _exercise_list(update, context, student)


async def _exercise_list(update: Update, context: BotContext, student: Student) -> None:
    exercises = await context.services.tutoring.exercises(student.email, limit=20)
    if not exercises:
        await _say(update, context, text.NO_EXERCISES)
        return
    rows = [
        [InlineKeyboardButton(
            text.EXERCISE_BUTTON.format(
                title=e.title[:30], cohort=e.cohort_name[:15], done=e.done, total=e.recipients
            ),
            callback_data=f"pr:p:{e.exercise_id}:0",
        )]
        for e in exercises
    ]  # fmt: skip
    await _say(update, context, text.PICK_EXERCISE, InlineKeyboardMarkup(rows))


def progress_page(
    context: BotContext, exercise: Any, rows: list[ProgressRow], page: int
) -> tuple[str, InlineKeyboardMarkup]:
    total = len(rows)
    stages = [_stage(r) for r in rows]
    delivered = sum(1 for r in rows if r.status == "sent")
    opened = sum(1 for r in rows if r.opened_at is not None)
    started = sum(1 for r in rows if r.started_at is not None)
    done = sum(1 for r in rows if r.done_at is not None)
    questions = rows[0].quiz_total if rows else 0
    quiz = ""
    if questions:
        answered = [r for r in rows if r.quiz_answered]
        complete = sum(1 for r in rows if r.quiz_answered >= questions)
        if answered:
            mean = sum(r.quiz_correct for r in answered) / len(answered)
            average = f"{mean:.1f}/{questions} ({round(100 * mean / questions)}%)"
        else:
            average = "no answers yet"
        quiz = text.PROGRESS_QUIZ.format(questions=questions, answered=complete, average=average)
    due = f" · due {format_date(exercise.due_date)}" if exercise.due_date else ""
    pages = _pages(total)
    page = max(0, min(page, pages - 1))
    lines = [
        text.PROGRESS_TITLE.format(
            title=_esc(exercise.title),
            cohort=_esc(exercise.cohort_name),
            due=due,
            delivered=delivered,
            total=total,
            opened=opened,
            started=started,
            done=done,
            quiz=quiz,
        )
        + (text.PAGE.format(page=page + 1, pages=pages) if pages > 1 else ""),
        "",
    ]
    for row, stage in list(zip(rows, stages, strict=True))[page * PER_PAGE : (page + 1) * PER_PAGE]:
        score = ""
        if questions and row.quiz_answered:
            score = text.PROGRESS_STUDENT_QUIZ.format(correct=row.quiz_correct, total=questions)
        note = ""
        if row.imported:
            note = f" · {row.imported} patient(s) imported"
        lines.append(
            text.PROGRESS_STUDENT.format(
                mark=text.PROGRESS_MARKS.get(stage, "•"),
                email=_esc(row.email),
                quiz=score,
                note=note,
            )
        )
    not_opened = [r.email for r in rows if r.status == "sent" and r.opened_at is None]
    body = "\n".join(lines)
    if not_opened and page == 0:
        shown = ", ".join(_esc(e) for e in not_opened[:NOT_OPENED_SHOWN])
        if len(not_opened) > NOT_OPENED_SHOWN:
            shown += f" and {len(not_opened) - NOT_OPENED_SHOWN} more (see the CSV)"
        body += text.PROGRESS_NOT_OPENED.format(n=len(not_opened), emails=shown)
    body += text.PROGRESS_LEGEND
    keyboard = []
    nav = _nav("pr:p", exercise.id, page, pages)
    if nav:
        keyboard.append(nav)
    keyboard.append(
        [
            InlineKeyboardButton(text.REFRESH_BUTTON, callback_data=f"pr:p:{exercise.id}:{page}"),
            InlineKeyboardButton(text.CSV_BUTTON, callback_data=f"pr:csv:{exercise.id}"),
        ]
    )
    keyboard.append([InlineKeyboardButton(text.OTHER_EXERCISES_BUTTON, callback_data="pr:l")])
    return body, InlineKeyboardMarkup(keyboard)


def _progress_csv(rows: list[ProgressRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["email", "delivery", "sent_at", "opened_at", "started_at", "done_at",
         "patients_imported", "quiz_correct", "quiz_answered", "quiz_questions"]
    )  # fmt: skip
    for r in rows:
        writer.writerow(
            [r.email, r.status, _iso(r.sent_at), _iso(r.opened_at), _iso(r.started_at),
             _iso(r.done_at), r.imported or 0, r.quiz_correct, r.quiz_answered, r.quiz_total]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _iso(stamp: datetime | None) -> str:
    return stamp.isoformat(timespec="seconds") if stamp else ""


@tutor_only
async def on_progress_button(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    if parts[1] == "l":
        await query.answer()
        await _exercise_list(update, context, student)
        return
    exercise_id = int(parts[2])
    services = context.services
    try:
        rows = await services.tutoring.progress(student.email, exercise_id)
    except NotYourCohortError:
        await query.answer(text.NOT_YOUR_COHORT, show_alert=True)
        return
    exercise = await services.exercises.get(exercise_id)
    if exercise is None:
        await query.answer(text.EXERCISE_GONE, show_alert=True)
        return
    if parts[1] == "csv":
        await query.answer()
        await context.bot.send_document(
            student.chat_id, _progress_csv(rows), filename=f"progress_exercise_{exercise_id}.csv"
        )
        return
    await query.answer()
    page = int(parts[3]) if len(parts) > 3 else 0
    body, keyboard = progress_page(context, exercise, rows, page)
    # From the live broadcast message (pr:x) a new message, so the worker keeps its own.
    await _say(update, context, body, keyboard, new=parts[1] == "x")


# --- /students ------------------------------------------------------------------------------


@tutor_only
async def students_command(update: Update, context: BotContext, student: Student) -> None:
    await _cohort_list(update, context, student)


async def _cohort_list(update: Update, context: BotContext, student: Student) -> None:
    cohorts = await context.services.tutoring.cohorts(student.email)
    if not cohorts:
        await _say(update, context, text.NO_COHORTS)
        return
    rows = [
        [InlineKeyboardButton(
            text.COHORT_BUTTON.format(name=c.name[:40], members=c.members),
            callback_data=f"st:c:{c.cohort_id}:0",
        )]
        for c in cohorts[:30]
    ]  # fmt: skip
    await _say(update, context, text.PICK_COHORT_STUDENTS, InlineKeyboardMarkup(rows))


@tutor_only
async def on_students_button(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    if parts[1] == "l":
        await query.answer()
        await _cohort_list(update, context, student)
        return
    cohort_id = int(parts[2])
    services = context.services
    try:
        cohort = await services.tutoring.cohort(student.email, cohort_id)
        summaries = await services.tutoring.students(
            student.email, cohort_id, services.clock.today()
        )
        settings = services.settings
        bookings = await services.tutoring.booking_counts(
            student.email, cohort_id, services.clock.today(),
            settings.at_risk_days_rtt, settings.at_risk_days_cancer,
        )  # fmt: skip
    except NotYourCohortError:
        await query.answer(text.NOT_YOUR_COHORT, show_alert=True)
        return
    await query.answer()
    if parts[1] == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["email", "linked", "ptl_size", "breached", "last_ptl_change", "last_seen",
                         "undated_at_risk", "outcomes_missing"])  # fmt: skip
        for s in summaries:
            undated, outcomes = bookings.get(s.email, (0, 0))
            writer.writerow(
                [s.email, "yes" if s.linked else "no", s.ptl_size, s.breached,
                 _iso(s.last_ptl_change), _iso(s.last_seen_at), undated, outcomes]
            )  # fmt: skip
        await context.bot.send_document(
            student.chat_id,
            ("\ufeff" + out.getvalue()).encode("utf-8"),
            filename=f"students_cohort_{cohort_id}.csv",
        )
        return
    back = [InlineKeyboardButton(text.BACK, callback_data=f"co:v:{cohort_id}")]
    if not summaries:
        await _say(
            update, context, text.STUDENTS_EMPTY.format(name=_esc(cohort.name)),
            InlineKeyboardMarkup([back]),
        )  # fmt: skip
        return
    pages = _pages(len(summaries))
    page = max(0, min(int(parts[3]), pages - 1))
    lines = [
        text.STUDENTS_TITLE.format(
            name=_esc(cohort.name),
            count=len(summaries),
            patients=sum(s.ptl_size for s in summaries),
            breached=sum(s.breached for s in summaries),
            page=text.PAGE.format(page=page + 1, pages=pages) if pages > 1 else "",
        ),
        "",
    ]
    for n, s in enumerate(summaries[page * PER_PAGE : (page + 1) * PER_PAGE], page * PER_PAGE + 1):
        undated, outcomes = bookings.get(s.email, (0, 0))
        lines.append(
            text.STUDENT_LINE.format(
                n=n, email=_esc(s.email), size=s.ptl_size, breached=s.breached,
                active=_when(context, s.last_activity),
            )
            + text.STUDENT_BOOKINGS.format(undated=undated, outcomes=outcomes)
        )  # fmt: skip
    keyboard = []
    nav = _nav("st:c", cohort_id, page, pages)
    if nav:
        keyboard.append(nav)
    keyboard.append(
        [
            InlineKeyboardButton(text.REFRESH_BUTTON, callback_data=f"st:c:{cohort_id}:{page}"),
            InlineKeyboardButton(text.CSV_BUTTON, callback_data=f"st:csv:{cohort_id}"),
        ]
    )
    keyboard.append(back)
    await _say(update, context, "\n".join(lines), InlineKeyboardMarkup(keyboard))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("progress", progress_command))
    app.add_handler(CommandHandler("students", students_command))
    app.add_handler(
        CallbackQueryHandler(
            on_progress_button, pattern=r"^pr:(l|[px]:\d{1,18}:\d{1,4}|csv:\d{1,18})$"
        )
    )
    app.add_handler(
        CallbackQueryHandler(
            on_students_button, pattern=r"^st:(l|c:\d{1,18}:\d{1,4}|csv:\d{1,18})$"
        )
    )
