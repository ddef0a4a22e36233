"""/progress (an exercise: delivered, opened, started, done, quiz scores, who has not opened
it) and /students (a cohort: each member's PTL size, breaches and last activity).

All figures come from `services.tutoring`, i.e. the `ptl_tutor` functions run as the tutor:
the database checks the cohort is theirs and returns summaries only. Long lists are paged in
place; the full table is one tap away as a CSV.

"Opened" means the student did something with the exercise (a button, a quiz answer):
Telegram does not tell bots when a message is read.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import tutors as text
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.services import outbox
from bot.services.container import BotContext
from bot.services.export import spreadsheet
from handlers.guards import Student, tutor_only
from handlers.replies import say as _say
from storage.tutoring import AnswerRow, NotYourCohortError, ProgressRow

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


@dataclass(frozen=True)
class QuestionSummary:
    """How the class answered one question: the tutor's question-by-question view."""

    n: int
    question: str
    answer: str
    answered: int
    right: int
    wrong_choices: list[tuple[str, int]]
    """(answer text, how many chose it) for the wrong answers chosen, most chosen first."""


def _chosen(options: list[str], option_id: int | None) -> str:
    return options[option_id] if option_id is not None and 0 <= option_id < len(options) else "?"


def question_summaries(answers: list[AnswerRow]) -> list[QuestionSummary]:
    by_position: dict[int, list[AnswerRow]] = {}
    for row in answers:
        by_position.setdefault(row.position, []).append(row)
    summaries = []
    for n, (_, rows) in enumerate(sorted(by_position.items()), start=1):
        first = rows[0]
        given = [r for r in rows if r.option_id is not None]
        wrong = Counter(_chosen(first.options, r.option_id) for r in given if not r.correct)
        summaries.append(
            QuestionSummary(
                n=n,
                question=first.question,
                answer=first.options[first.correct_option],
                answered=len(given),
                right=sum(1 for r in given if r.correct),
                wrong_choices=wrong.most_common(),
            )
        )
    return summaries


def _question_lines(summaries: list[QuestionSummary]) -> str:
    lines = []
    for q in summaries:
        if not q.answered:
            result = text.QUESTION_NO_ANSWERS
        else:
            result = text.QUESTION_RESULT.format(
                right=q.right, answered=q.answered, percent=round(100 * q.right / q.answered)
            )
            if q.wrong_choices:
                choice, count = q.wrong_choices[0]
                result += text.QUESTION_MOST_WRONG.format(
                    choice=_esc(clip(choice, 40)), students=plural(count, "student")
                )
        lines.append(
            text.QUESTION_LINE.format(
                n=q.n, question=_esc(clip(q.question, 70)), answer=_esc(clip(q.answer, 40)),
                result=result,
            )
        )  # fmt: skip
    return text.QUESTIONS_TITLE + "\n" + "\n".join(lines)


def progress_page(
    context: BotContext,
    exercise: Any,
    rows: list[ProgressRow],
    page: int,
    answers: list[AnswerRow] | None = None,
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
            quiz = text.PROGRESS_QUIZ.format(
                questions=plural(questions, "question"),
                complete=plural(complete, "student"),
                average=f"{mean:.1f}/{questions} ({round(100 * mean / questions)}%)",
            )
        else:
            quiz = text.PROGRESS_QUIZ_NONE.format(questions=plural(questions, "question"))
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
            note = text.PROGRESS_IMPORTED.format(patients=plural(row.imported, "patient"))
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
    if answers and page == 0:
        body += "\n\n" + _question_lines(question_summaries(answers))
    body += text.PROGRESS_LEGEND
    keyboard = []
    late = sum(1 for r in rows if r.status == "not_sent")
    if late:
        label = text.SEND_TO_NEW_BUTTON.format(students=plural(late, "new member"))
        keyboard.append([InlineKeyboardButton(label, callback_data=f"pr:new:{exercise.id}")])
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


def _progress_csv(rows: list[ProgressRow], answers: list[AnswerRow] | None = None) -> bytes:
    """One row per student; after the totals, each question's answer and whether it was
    right (q1_answer, q1_correct, ...), so the tutor can see every question in Excel. Every
    cell is formula-safe, as in the student export (`spreadsheet`)."""
    positions = sorted({a.position for a in answers or []})
    chosen = {(a.email, a.position): a for a in answers or [] if a.email is not None}
    question_columns = [
        name for n in range(1, len(positions) + 1) for name in (f"q{n}_answer", f"q{n}_correct")
    ]
    table: list[list[str | int | None]] = []
    for r in rows:
        cells: list[str | int | None] = []
        for position in positions:
            a = chosen.get((r.email, position))
            if a is None or a.option_id is None:
                cells += ["", ""]
            else:
                cells += [_chosen(a.options, a.option_id), "yes" if a.correct else "no"]
        table.append(
            [r.email, r.status, _iso(r.sent_at), _iso(r.opened_at), _iso(r.started_at),
             _iso(r.done_at), r.imported or 0, r.quiz_correct, r.quiz_answered, r.quiz_total,
             *cells]
        )  # fmt: skip
    return spreadsheet(
        ["email", "delivery", "sent_at", "opened_at", "started_at", "done_at",
         "patients_imported", "quiz_correct", "quiz_answered", "quiz_questions",
         *question_columns],
        table,
    )  # fmt: skip


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
    if parts[1] == "new":  # late joiners: queue the exercise for members who never had it
        queued = await services.tutoring.send_to_new_members(student.email, exercise_id)
        await query.answer(
            text.SENT_TO_NEW.format(students=plural(queued, "student"))
            if queued
            else text.NOTHING_TO_RESEND
        )
        if queued:
            outbox.kick(context.application)
            rows = await services.tutoring.progress(student.email, exercise_id)
        parts = ["pr", "p", str(exercise_id), "0"]
    else:
        await query.answer()
    answers = await services.tutoring.answers(student.email, exercise_id)
    if parts[1] == "csv":
        await context.bot.send_document(
            student.chat_id,
            _progress_csv(rows, answers),
            filename=f"progress_exercise_{exercise_id}.csv",
        )
        return
    page = int(parts[3]) if len(parts) > 3 else 0
    body, keyboard = progress_page(context, exercise, rows, page, answers)
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
        summaries = await services.tutoring.students(student.email, cohort_id)
        bookings = await services.tutoring.booking_counts(student.email, cohort_id)
    except NotYourCohortError:
        await query.answer(text.NOT_YOUR_COHORT, show_alert=True)
        return
    await query.answer()
    if parts[1] == "csv":
        table = spreadsheet(
            ["email", "linked", "ptl_size", "breached", "last_ptl_change", "last_seen",
             "undated_at_risk", "outcomes_missing"],
            (
                [s.email, "yes" if s.linked else "no", s.ptl_size, s.breached,
                 _iso(s.last_ptl_change), _iso(s.last_seen_at), *bookings.get(s.email, (0, 0))]
                for s in summaries
            ),
        )  # fmt: skip
        await context.bot.send_document(
            student.chat_id,
            table,
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
            count=plural(len(summaries), "student"),
            patients=plural(sum(s.ptl_size for s in summaries), "patient"),
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
            on_progress_button, pattern=r"^pr:(l|[px]:\d{1,18}:\d{1,4}|(csv|new):\d{1,18})$"
        )
    )
    app.add_handler(
        CallbackQueryHandler(
            on_students_button, pattern=r"^st:(l|c:\d{1,18}:\d{1,4}|csv:\d{1,18})$"
        )
    )
