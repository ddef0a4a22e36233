"""Students and their exercises: Start, the quiz when they are ready, the answer key, Mark as
done, and /exercises to find an exercise again.

The loop, as a student meets it:
1. The exercise arrives with ▶️ Start and ✅ Mark as done.
2. ▶️ Start adds the scenario patients to their own PTL; the message now says so and offers
   📝 Take the quiz (the quiz waits until they have worked through the patients).
3. 📝 Take the quiz sends the questions as Telegram quiz polls.
4. After the last answer comes the answer key: every question, their answer, the right one
   and the tutor's explanation; the message shows the score.
5. ✅ Mark as done says what was recorded (the score, or that the quiz is still to take).
The exercise message is edited at each step, so it always says where the student is.

Why every button is safe to press twice: the import writes through the student's own RLS
transaction with a unique key per (student, exercise, scenario patient), each quiz question
is claimed in the database before it is sent, and the answer key is claimed once, so a second
press (or a second replica handling a retried update) adds nothing and sends nothing twice.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, PollAnswerHandler

from bot.messages import tutors as text
from bot.messages.html import esc
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.rules.scenarios import ScenarioPatient
from bot.services.container import BotContext
from bot.services.outbox import (
    Stage,
    exercise_keyboard,
    exercise_tag,
    exercise_text,
    send_quiz_poll,
)
from handlers.guards import Student, student_only
from storage.exercises import Delivery, Exercise, QuizState

log = logging.getLogger(__name__)


def stage_of(delivery: Delivery, quiz: QuizState) -> Stage:
    return Stage(
        started=delivery.started_at is not None,
        quiz_sent=quiz.sent > 0,
        score=(quiz.correct, quiz.total) if quiz.complete else None,
        done=delivery.done_at is not None,
    )


def render(
    exercise: Exercise, delivery: Delivery, quiz: QuizState
) -> tuple[str, InlineKeyboardMarkup]:
    """The student's copy of the exercise message as it should read now."""
    stage = stage_of(delivery, quiz)
    body = exercise_text(
        exercise_id=exercise.id,
        title=exercise.title,
        cohort=exercise.cohort_name,
        brief=exercise.brief,
        patients=len(exercise.patients),
        questions=exercise.question_count,
        due=exercise.due_date,
        stage=stage,
    )
    return body, exercise_keyboard(exercise.id, stage=stage, quiz=exercise.question_count > 0)


async def _refresh(
    context: BotContext, exercise: Exercise, email: str, chat_id: int, message_id: int
) -> None:
    """Edit one copy of the exercise message to match where the student is now."""
    services = context.services
    delivery = await services.exercises.delivery(exercise.id, email)
    if delivery is None:
        return
    quiz = await services.exercises.quiz_state(exercise.id, email)
    body, keyboard = render(exercise, delivery, quiz)
    try:
        await context.bot.edit_message_text(
            body, chat_id=chat_id, message_id=message_id, reply_markup=keyboard
        )
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
    if action == "o":  # shown again from /exercises
        await query.answer()
        await services.exercises.mark_opened(exercise_id, student.email)
        fresh = await services.exercises.delivery(exercise_id, student.email)
        assert fresh is not None
        quiz = await services.exercises.quiz_state(exercise_id, student.email)
        body, keyboard = render(exercise, fresh, quiz)
        await context.bot.send_message(student.chat_id, body, reply_markup=keyboard)
        return
    if action == "s":
        await query.answer()
        await _start(context, student, exercise, delivery)
    elif action == "q":
        await query.answer()
        await _take_quiz(context, student, exercise)
    elif action in ("d", "u"):
        done = action == "d"
        await services.exercises.set_done(exercise_id, student.email, done)
        await query.answer(text.MARKED_DONE if done else text.MARKED_NOT_DONE)
        await _done_feedback(context, student, exercise, done)
    else:
        await query.answer()
        return
    if query.message is not None:
        await _refresh(context, exercise, student.email, student.chat_id, query.message.message_id)


async def _start(
    context: BotContext, student: Student, exercise: Exercise, delivery: Delivery
) -> None:
    services = context.services
    first_time = delivery.started_at is None
    tag = exercise_tag(exercise.id)
    title = esc(exercise.title)
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
    quiz = ""
    if exercise.question_count:
        quiz = text.STARTED_QUIZ.format(questions=plural(exercise.question_count, "question"))
    if exercise.patients and (added or first_time):
        message = text.STARTED_WITH_PATIENTS.format(
            title=title, added=plural(added, "patient"), tag=tag, quiz=quiz
        )
    elif exercise.patients:
        message = text.STARTED_AGAIN.format(title=title, patients=plural(total, "patient"), tag=tag)
    else:
        message = text.STARTED_NO_PATIENTS.format(title=title, quiz=quiz)
    await context.bot.send_message(student.chat_id, message)


async def _take_quiz(context: BotContext, student: Student, exercise: Exercise) -> None:
    """Send the questions this student has not been sent yet (each claimed in the database
    first, so a second press or a second replica still sends each once)."""
    services = context.services
    if not exercise.question_count:
        return
    questions = await services.exercises.questions(exercise.id)
    claimed = [
        q for q in questions if await services.exercises.claim_poll(exercise.id, student.email,
                                                                   q.position)
    ]  # fmt: skip
    if not claimed:
        await context.bot.send_message(student.chat_id, text.QUIZ_ALREADY_SENT)
        return
    await services.exercises.mark_opened(exercise.id, student.email)
    intro = text.QUIZ_FOLLOWS.format(
        title=esc(exercise.title), questions=plural(len(questions), "question")
    )
    await context.bot.send_message(student.chat_id, intro)
    for question in claimed:
        await _send_poll(context, student, exercise.id, question.position, question)


async def _send_poll(
    context: BotContext, student: Student, exercise_id: int, position: int, question: Any
) -> None:
    services = context.services
    try:
        message = await send_quiz_poll(
            context.bot,
            student.chat_id,
            question=question.question,
            options=question.options,
            correct=question.correct_option,
            explanation=question.explanation,
        )
    except TelegramError as exc:
        log.info("Quiz poll for exercise %s not sent: %s", exercise_id, exc)
        await services.exercises.unclaim_poll(exercise_id, student.email, position)
        return
    if message.poll is not None:
        await services.exercises.set_poll_id(
            exercise_id, student.email, position, message.poll.id, student.telegram_user_id
        )


async def _done_feedback(
    context: BotContext, student: Student, exercise: Exercise, done: bool
) -> None:
    """Mark as done says what was recorded; the quiz, if there is one and it's not taken,
    is one tap away."""
    title = esc(exercise.title)
    if not done:
        await context.bot.send_message(student.chat_id, text.NOT_DONE_FEEDBACK.format(title=title))
        return
    keyboard = None
    quiz = ""
    if exercise.question_count:
        state = await context.services.exercises.quiz_state(exercise.id, student.email)
        if state.complete:
            quiz = text.DONE_FEEDBACK_SCORE.format(right=state.correct, total=state.total)
        elif state.sent:
            quiz = text.DONE_FEEDBACK_QUIZ_OPEN.format(answered=state.answered, total=state.total)
        else:
            quiz = text.DONE_FEEDBACK_NO_QUIZ
            take = InlineKeyboardButton(text.TAKE_QUIZ_BUTTON, callback_data=f"ex:q:{exercise.id}")
            keyboard = InlineKeyboardMarkup([[take]])
    await context.bot.send_message(
        student.chat_id, text.DONE_FEEDBACK.format(title=title, quiz=quiz), reply_markup=keyboard
    )


# --- quiz answers and the answer key ------------------------------------------------------


async def on_poll_answer(update: Update, context: BotContext) -> None:
    answer = update.poll_answer
    if answer is None:
        return
    services = context.services
    if answer.user is None:  # an anonymous (chat) vote: nobody to credit
        return
    credited = await services.exercises.record_answer(
        answer.poll_id, list(answer.option_ids), answer.user.id
    )
    if credited is None:  # not an exercise poll, or not from the account it was sent to
        return
    owner = await services.exercises.poll_owner(answer.poll_id)
    if owner is None:
        return
    exercise_id, email = owner
    if not await services.exercises.claim_answer_key(exercise_id, email):
        return  # not the last answer yet, or the key has gone already
    exercise = await services.exercises.get(exercise_id)
    delivery = await services.exercises.delivery(exercise_id, email)
    if exercise is None or delivery is None:
        return
    chat_id = delivery.chat_id or (answer.user.id if answer.user else None)
    if chat_id is None:
        return
    await context.bot.send_message(chat_id, await answer_key(context, exercise, email))
    if delivery.chat_id and delivery.message_id:
        await _refresh(context, exercise, email, delivery.chat_id, delivery.message_id)


async def answer_key(context: BotContext, exercise: Exercise, email: str) -> str:
    """Every question with the student's answer, the right one and the explanation."""
    services = context.services
    questions = await services.exercises.questions(exercise.id)
    chosen = {a.position: a for a in await services.exercises.answers(exercise.id, email)}
    right = sum(1 for a in chosen.values() if a.correct)
    verdict = text.ANSWER_KEY_ALL_RIGHT if right == len(questions) else ""
    body = text.ANSWER_KEY.format(
        title=esc(exercise.title), right=right, total=len(questions), verdict=verdict
    )
    for n, q in enumerate(questions, start=1):
        answer = esc(q.options[q.correct_option])
        mine = chosen.get(q.position)
        if mine is None:
            line = text.ANSWER_KEY_LINE_NONE
            body += line.format(n=n, question=esc(q.question), answer=answer)
        elif mine.correct:
            body += text.ANSWER_KEY_LINE_RIGHT.format(n=n, question=esc(q.question), answer=answer)
        else:
            picked = q.options[mine.option_id] if 0 <= mine.option_id < len(q.options) else "?"
            body += text.ANSWER_KEY_LINE_WRONG.format(
                n=n, question=esc(q.question), chosen=esc(picked), answer=answer
            )
        if q.explanation:
            body += text.ANSWER_KEY_WHY.format(explanation=esc(q.explanation))
    return body + text.ANSWER_KEY_NEXT


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
    app.add_handler(CallbackQueryHandler(on_exercise_button, pattern=r"^ex:[sqduo]:\d{1,18}$"))
    app.add_handler(PollAnswerHandler(on_poll_answer))
    app.add_handler(CommandHandler("exercises", my_exercises))
