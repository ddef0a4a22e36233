"""Students and their exercises: Start (import the scenario patients, send the quiz), Mark as
done, quiz answers, and /exercises to find an exercise again.

Why Start is safe to press twice: the import writes through the student's own RLS
transaction with a unique key per (student, exercise, scenario patient), and each quiz
question is claimed in the database before it is sent, so a second press (or a second
replica handling a retried update) adds nothing and sends nothing twice.
"""

from __future__ import annotations

import html
import logging
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Poll, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, PollAnswerHandler

from bot.messages import tutors as text
from bot.rules.dates import format_date
from bot.rules.scenarios import ScenarioPatient
from bot.services.container import BotContext
from bot.services.outbox import exercise_keyboard, exercise_tag, exercise_text
from handlers.guards import Student, student_only
from storage.exercises import Delivery, Exercise

log = logging.getLogger(__name__)


def _render(exercise: Exercise, delivery: Delivery) -> tuple[str, InlineKeyboardMarkup]:
    done = delivery.done_at is not None
    body = exercise_text(
        exercise_id=exercise.id,
        title=exercise.title,
        cohort=exercise.cohort_name,
        brief=exercise.brief,
        patients=len(exercise.patients),
        questions=exercise.question_count,
        due=exercise.due_date,
        done=done,
    )
    keyboard = exercise_keyboard(exercise.id, started=delivery.started_at is not None, done=done)
    return body, keyboard


async def _update_message(update: Update, body: str, keyboard: InlineKeyboardMarkup) -> None:
    """Show the exercise's new state on the message the student pressed."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(body, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            log.info("Could not update an exercise message: %s", exc.message)


@student_only
async def on_exercise_button(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, raw_id = query.data.split(":")
    exercise_id = int(raw_id)
    services = context.services
    delivery = await services.exercises.delivery(exercise_id, student.email)
    exercise = await services.exercises.get(exercise_id) if delivery else None
    if delivery is None or exercise is None:
        await query.answer(text.NOT_YOURS, show_alert=True)
        return
    if action == "s":
        await query.answer()
        await _start(update, context, student, exercise, delivery)
    elif action in ("d", "u"):
        done = action == "d"
        await services.exercises.set_done(exercise_id, student.email, done)
        await query.answer(text.MARKED_DONE if done else text.MARKED_NOT_DONE)
    elif action == "o":  # re-show from /exercises
        await query.answer()
        await services.exercises.mark_opened(exercise_id, student.email)
        fresh = await services.exercises.delivery(exercise_id, student.email)
        assert fresh is not None
        body, keyboard = _render(exercise, fresh)
        await context.bot.send_message(student.chat_id, body, reply_markup=keyboard)
        return
    else:
        await query.answer()
        return
    fresh = await services.exercises.delivery(exercise_id, student.email)
    if fresh is not None:
        await _update_message(update, *_render(exercise, fresh))


async def _start(
    update: Update, context: BotContext, student: Student, exercise: Exercise, delivery: Delivery
) -> None:
    services = context.services
    first_time = delivery.started_at is None
    tag = exercise_tag(exercise.id)
    title = html.escape(exercise.title, quote=False)
    if exercise.patients:
        today = services.clock.today()
        rows = [
            (p.key, p.row(today, added_by=tag, tag=tag))
            for p in (ScenarioPatient.from_json(d) for d in exercise.patients)
        ]
        added, total = await services.exercises.import_patients(student.email, exercise.id, rows)
    else:
        await services.exercises.mark_started(exercise.id, student.email)
        added, total = 0, 0
    sent_quiz = await _send_quiz(context, student, exercise)
    quiz = text.STARTED_QUIZ if sent_quiz else ""
    if exercise.patients and (added or first_time):
        message = text.STARTED_WITH_PATIENTS.format(title=title, added=added, tag=tag, quiz=quiz)
    elif exercise.patients:
        message = text.STARTED_AGAIN.format(title=title, total=total, tag=tag)
    else:
        message = text.STARTED_NO_PATIENTS.format(title=title, quiz=quiz)
    # The confirmation goes first so that the polls follow it in the chat.
    await context.bot.send_message(student.chat_id, message)
    for position, question in sent_quiz:
        await _send_poll(context, student, exercise.id, position, question)


async def _send_quiz(
    context: BotContext, student: Student, exercise: Exercise
) -> list[tuple[int, Any]]:
    """Claim the questions this student has not been sent yet (in the database, so twice
    pressed or two replicas still send each once). Returns what to send."""
    if not exercise.question_count:
        return []
    services = context.services
    questions = await services.exercises.questions(exercise.id)
    claimed = []
    for q in questions:
        if await services.exercises.claim_poll(exercise.id, student.email, q.position):
            claimed.append((q.position, q))
    return claimed


async def _send_poll(
    context: BotContext, student: Student, exercise_id: int, position: int, question: Any
) -> None:
    services = context.services
    try:
        message = await context.bot.send_poll(
            student.chat_id,
            question.question,
            question.options,
            type=Poll.QUIZ,
            is_anonymous=False,
            correct_option_ids=cast(Any, [question.correct_option]),
            explanation=question.explanation or None,
        )
    except TelegramError as exc:
        log.info("Quiz poll for exercise %s not sent: %s", exercise_id, exc)
        await services.exercises.unclaim_poll(exercise_id, student.email, position)
        return
    if message.poll is not None:
        await services.exercises.set_poll_id(exercise_id, student.email, position, message.poll.id)


async def on_poll_answer(update: Update, context: BotContext) -> None:
    answer = update.poll_answer
    if answer is None:
        return
    await context.services.exercises.record_answer(answer.poll_id, list(answer.option_ids))


async def on_preview_button(update: Update, context: BotContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text.PREVIEW_BUTTON_ANSWER)


@student_only
async def my_exercises(update: Update, context: BotContext, student: Student) -> None:
    items = await context.services.exercises.student_exercises(student.email)
    if not items:
        await context.bot.send_message(student.chat_id, text.MY_EXERCISES_EMPTY)
        return
    buttons = []
    for item in items:
        mark = "✅" if item.done else ("▶️" if item.started else "🆕")
        due = f" · due {format_date(item.due_date)}" if item.due_date else ""
        label = text.MY_EXERCISE_LINE.format(
            mark=mark, title=item.title[:40], cohort=item.cohort_name[:20], due=due
        )
        buttons.append([InlineKeyboardButton(label, callback_data=f"ex:o:{item.exercise_id}")])
    await context.bot.send_message(
        student.chat_id, text.MY_EXERCISES_TITLE, reply_markup=InlineKeyboardMarkup(buttons)
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CallbackQueryHandler(on_preview_button, pattern=r"^ex:p$"))
    app.add_handler(CallbackQueryHandler(on_exercise_button, pattern=r"^ex:[sduo]:\d{1,18}$"))
    app.add_handler(PollAnswerHandler(on_poll_answer))
    app.add_handler(CommandHandler("exercises", my_exercises))
