"""/broadcast: a tutor sends an exercise to a cohort, step by step, with a true preview.

Steps: cohort -> title -> brief -> scenario patients (built-in, CSV upload, or none) -> quiz
questions -> due date -> preview and Send. Every step has Back and Cancel; the draft lives in
persistent user_data (JSON) and the state in the persistent conversation, so a restart
resumes the form. Send creates the exercise and one outbox row per member in one transaction
(keyed by the draft's token, so a double press sends once), turns the confirmation into the
live progress message, and wakes the outbox worker (bot/services/outbox.py).
"""

from __future__ import annotations

import contextlib
import html
import logging
import secrets
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Poll, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import common
from bot.messages import tutors as text
from bot.rules.dates import format_date, parse_date
from bot.rules.pathway import PATHWAY_TYPES
from bot.rules.scenario_csv import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    parse_exercise_csv,
    summarise_problems,
    template_csv,
)
from bot.rules.scenarios import (
    MAX_QUESTIONS,
    SCENARIOS,
    QuestionError,
    QuizQuestion,
    parse_question,
)
from bot.services import outbox
from bot.services.container import SERVICES_KEY, BotContext
from handlers.guards import Student, current_student, tutor_only
from handlers.replies import say as _say
from storage.exercises import NotYourCohortError

log = logging.getLogger(__name__)

COHORT, TITLE, BRIEF, SCENARIO, CSV, QUIZ, DUE, CONFIRM = range(8)
END = ConversationHandler.END
DRAFT = "broadcast_draft"
TITLE_LIMIT = 120
BRIEF_LIMIT = 3000

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


def _draft(context: BotContext) -> dict[str, Any]:
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if not isinstance(draft, dict):
        draft = {}
        if context.user_data is not None:
            context.user_data[DRAFT] = draft
    return draft


def _nav(*rows: list[InlineKeyboardButton], back: bool = True) -> InlineKeyboardMarkup:
    last = [InlineKeyboardButton(common.CANCEL, callback_data="bc:x")]
    if back:
        last.insert(0, InlineKeyboardButton(common.BACK, callback_data="bc:b"))
    return InlineKeyboardMarkup([*rows, last])


async def _answer(update: Update, message: str | None = None, alert: bool = False) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(message, show_alert=alert)


# --- step prompts --------------------------------------------------------------------------


async def _ask_cohort(update: Update, context: BotContext, student: Student) -> int:
    cohorts = [
        c for c in await context.services.tutoring.cohorts(student.email) if not c.archived_at
    ]
    if not cohorts:
        await _say(update, context, text.BROADCAST_NEEDS_COHORT)
        return END
    rows = [
        [InlineKeyboardButton(
            text.BROADCAST_COHORT_BUTTON.format(name=c.name[:40], members=c.members),
            callback_data=f"bc:c:{c.cohort_id}",
        )]
        for c in cohorts[:20]
    ]  # fmt: skip
    await _say(update, context, text.BROADCAST_PICK_COHORT, _nav(*rows, back=False))
    return COHORT


async def _ask_title(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    body = text.ASK_TITLE.format(cohort=_esc(draft["cohort_name"]), limit=TITLE_LIMIT)
    if draft.get("title"):
        body += "\n\n" + _currently(draft["title"])
    await _say(update, context, body, _nav())
    return TITLE


def _currently(value: str) -> str:
    """What a step already holds, so Back shows the tutor's earlier answer."""
    return f"Currently: <b>{_esc(value[:200])}</b>"


async def _ask_brief(update: Update, context: BotContext) -> int:
    draft = _draft(context)
    body = text.ASK_BRIEF.format(limit=BRIEF_LIMIT)
    if draft.get("brief"):
        body += "\n\n" + _currently(draft["brief"])
    await _say(update, context, body, _nav())
    return BRIEF


async def _ask_scenario(update: Update, context: BotContext) -> int:
    rows = [
        [InlineKeyboardButton(
            text.SCENARIO_BUTTON.format(title=s.title, n=len(s.patients)),
            callback_data=f"bc:sc:{key}",
        )]
        for key, s in SCENARIOS.items()
    ]  # fmt: skip
    rows.append([InlineKeyboardButton(text.UPLOAD_CSV_BUTTON, callback_data="bc:csv")])
    rows.append([InlineKeyboardButton(text.NO_PATIENTS_BUTTON, callback_data="bc:nop")])
    await _say(update, context, text.ASK_SCENARIO, _nav(*rows))
    return SCENARIO


async def _ask_quiz(update: Update, context: BotContext, intro: str = "") -> int:
    draft = _draft(context)
    questions = draft.get("questions") or []
    rows = []
    scenario = SCENARIOS.get(draft.get("scenario_key") or "")
    if scenario is not None and scenario.questions and not draft.get("used_suggested"):
        rows.append([InlineKeyboardButton(
            text.SUGGESTED_QUIZ_BUTTON.format(n=len(scenario.questions)), callback_data="bc:sq"
        )])  # fmt: skip
    done_label = text.QUIZ_DONE_BUTTON if questions else text.NO_QUIZ_BUTTON
    rows.append([InlineKeyboardButton(done_label, callback_data="bc:qd")])
    body = (intro + "\n\n" if intro else "") + text.ASK_QUIZ
    if questions:
        body += f"\n\nSo far: {len(questions)} question(s)."
    await _say(update, context, body, _nav(*rows))
    return QUIZ


async def _ask_due(update: Update, context: BotContext) -> int:
    keyboard = _nav([InlineKeyboardButton(text.NO_DUE_BUTTON, callback_data="bc:nd")])
    await _say(update, context, text.ASK_DUE, keyboard)
    return DUE


async def _preview(update: Update, context: BotContext) -> int:
    """Send exactly what students will get (same text, same buttons, the same quiz polls),
    then the confirmation with Send."""
    draft = _draft(context)
    services = context.services
    if not draft.get("exercise_id"):
        draft["exercise_id"] = await services.exercises.reserve_id()
    chat = update.effective_chat
    assert chat is not None
    if update.callback_query is not None:
        await _remove_buttons(update)
    due = draft.get("due")
    due_date = date.fromisoformat(due) if due else None
    questions = [QuizQuestion.from_json(q) for q in draft.get("questions") or []]
    body = outbox.exercise_text(
        exercise_id=int(draft["exercise_id"]),
        title=draft["title"],
        cohort=draft["cohort_name"],
        brief=draft["brief"],
        patients=len(draft.get("patients") or []),
        questions=len(questions),
        due=due_date,
    )
    await context.bot.send_message(chat.id, text.PREVIEW_HEADER)
    await context.bot.send_message(chat.id, body, reply_markup=outbox.exercise_keyboard(None))
    if questions:
        await context.bot.send_message(chat.id, text.PREVIEW_QUIZ_HEADER)
        for q in questions:
            try:
                await context.bot.send_poll(
                    chat.id, q.question, list(q.options), type=Poll.QUIZ, is_anonymous=False,
                    correct_option_ids=cast(Any, [q.correct]), explanation=q.explanation or None,
                )  # fmt: skip
            except TelegramError as exc:
                log.info("Preview poll not sent: %s", exc)
    try:
        cohort = await services.tutoring.cohort(_tutor_email(context), int(draft["cohort_id"]))
    except NotYourCohortError:  # deleted or handed over while the form was open
        await context.bot.send_message(chat.id, text.NOT_YOUR_COHORT)
        return END
    confirm = text.CONFIRM_SEND.format(
        title=_esc(draft["title"]),
        cohort=_esc(cohort.name),
        members=cohort.members,
        patients=text.CONFIRM_PATIENTS.format(n=len(draft.get("patients") or []))
        if draft.get("patients")
        else "",
        quiz=text.CONFIRM_QUIZ.format(n=len(questions)) if questions else "",
        due=text.CONFIRM_DUE.format(date=format_date(due_date)) if due_date else "",
    )
    keyboard = _nav([InlineKeyboardButton(text.SEND_BUTTON, callback_data="bc:send")])
    await context.bot.send_message(chat.id, confirm, reply_markup=keyboard)
    return CONFIRM


def _tutor_email(context: BotContext) -> str:
    email = _draft(context).get("tutor_email")
    assert isinstance(email, str)
    return email


async def _remove_buttons(update: Update) -> None:
    query = update.callback_query
    if query is None or query.message is None:
        return
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


# --- handlers ----------------------------------------------------------------------------------


@tutor_only
async def start(update: Update, context: BotContext, student: Student) -> int:
    if context.user_data is not None:
        context.user_data[DRAFT] = {"tutor_email": student.email}
    await _answer(update)
    match = context.matches[0] if context.matches else None
    if match is not None and match.group(1):  # from a cohort card's "Send an exercise"
        return await _choose(update, context, student, int(match.group(1)))
    return await _ask_cohort(update, context, student)


@tutor_only
async def choose_cohort(update: Update, context: BotContext, student: Student) -> int:
    await _answer(update)
    assert context.matches
    return await _choose(update, context, student, int(context.matches[0].group(1)))


async def _choose(update: Update, context: BotContext, student: Student, cohort_id: int) -> int:
    try:
        cohort = await context.services.tutoring.cohort(student.email, cohort_id)
    except NotYourCohortError:
        await _say(update, context, text.NOT_YOUR_COHORT)
        return END
    if cohort.archived_at is not None or cohort.members == 0:
        await context.bot.send_message(
            student.chat_id, text.BROADCAST_EMPTY_COHORT.format(name=_esc(cohort.name))
        )
        return await _ask_cohort(update, context, student)
    draft = _draft(context)
    draft.update(
        tutor_email=student.email,
        cohort_id=cohort.cohort_id,
        cohort_name=cohort.name,
        token=draft.get("token") or secrets.token_urlsafe(12),
    )
    return await _ask_title(update, context)


async def got_title(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    title = " ".join(message.text.split())
    if len(title) > TITLE_LIMIT:
        await message.reply_text(text.TITLE_TOO_LONG.format(n=len(title), limit=TITLE_LIMIT))
        return TITLE
    _draft(context)["title"] = title
    return await _ask_brief(update, context)


async def got_brief(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    brief = message.text.strip()
    if len(brief) > BRIEF_LIMIT:
        await message.reply_text(text.BRIEF_TOO_LONG.format(n=len(brief), limit=BRIEF_LIMIT))
        return BRIEF
    _draft(context)["brief"] = brief
    return await _ask_scenario(update, context)


async def not_text(update: Update, context: BotContext) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text.TEXT_PLEASE)


async def show_scenario(update: Update, context: BotContext) -> int:
    await _answer(update)
    assert context.matches
    scenario = SCENARIOS.get(context.matches[0].group(1))
    if scenario is None:
        return await _ask_scenario(update, context)
    today = context.services.clock.today()
    lines = []
    for p in scenario.patients:
        row = p.row(today, added_by="preview", tag="")
        lines.append(
            text.SCENARIO_PATIENT_LINE.format(
                name=_esc(p.name),
                pathway=PATHWAY_TYPES[p.pathway_type].label,
                start=format_date(row["clock_start_date"]),
            )
        )
    body = text.SCENARIO_DETAIL.format(
        title=_esc(scenario.title),
        n=len(scenario.patients),
        teaches=_esc(scenario.teaches),
        answer_key=_esc(scenario.answer_key),
        patients="\n".join(lines),
    )
    keyboard = _nav(
        [InlineKeyboardButton(text.USE_SCENARIO_BUTTON, callback_data=f"bc:use:{scenario.key}")],
        [InlineKeyboardButton(text.OTHER_SCENARIOS_BUTTON, callback_data="bc:scl")],
    )
    await _say(update, context, body, keyboard)
    return SCENARIO


async def scenario_list(update: Update, context: BotContext) -> int:
    await _answer(update)
    return await _ask_scenario(update, context)


async def use_scenario(update: Update, context: BotContext) -> int:
    await _answer(update)
    assert context.matches
    scenario = SCENARIOS.get(context.matches[0].group(1))
    if scenario is None:
        return await _ask_scenario(update, context)
    draft = _draft(context)
    draft.update(
        scenario_key=scenario.key,
        scenario_title=scenario.title,
        patients=[p.to_json() for p in scenario.patients],
    )
    return await _ask_quiz(update, context)


async def no_patients(update: Update, context: BotContext) -> int:
    await _answer(update)
    _draft(context).update(scenario_key=None, scenario_title=None, patients=[])
    return await _ask_quiz(update, context)


async def ask_csv(update: Update, context: BotContext) -> int:
    await _answer(update)
    columns = "\n".join(
        text.CSV_COLUMN_LINE.format(
            name=c.name, star="*" if c.required else "", meaning=_esc(c.meaning)
        )
        for c in COLUMNS
    )
    await _say(
        update, context, text.CSV_LAYOUT.format(max_rows=MAX_ROWS, columns=columns),
    )  # fmt: skip
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        template_csv(),
        filename="exercise_patients_template.csv",
        caption=text.CSV_TEMPLATE_CAPTION,
        reply_markup=_nav(),
    )
    return CSV


async def got_csv(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None
    document = message.document
    if document is None:
        await message.reply_text(text.CSV_SEND_FILE, reply_markup=_nav())
        return CSV
    name = document.file_name or "file"
    if not name.lower().endswith((".csv", ".txt")) and document.mime_type not in (
        "text/csv",
        "text/plain",
        "application/vnd.ms-excel",
    ):
        await message.reply_text(text.CSV_NOT_CSV.format(name=_esc(name)), reply_markup=_nav())
        return CSV
    if document.file_size and document.file_size > MAX_BYTES:
        await message.reply_text(
            text.CSV_TOO_BIG.format(kb=document.file_size // 1024, limit=MAX_BYTES // 1024),
            reply_markup=_nav(),
        )
        return CSV
    try:
        file = await document.get_file()
        content = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.info("CSV download failed: %s", exc)
        await message.reply_text(text.CSV_DOWNLOAD_FAILED, reply_markup=_nav())
        return CSV
    settings = context.services.settings
    result = parse_exercise_csv(
        content,
        today=context.services.clock.today(),
        allow_any_valid_nhs=settings.allow_any_valid_nhs_number,
    )
    if not result.ok:
        lines = "\n".join(_esc(line) for line in summarise_problems(result.errors))
        await message.reply_text(
            text.CSV_ERRORS.format(file=_esc(name), n=len(result.errors), lines=lines),
            reply_markup=_nav(),
        )
        return CSV
    _draft(context).update(
        scenario_key=None,
        scenario_title=name[:100],
        patients=[p.to_json() for p in result.patients],
    )
    intro = text.CSV_OK.format(file=_esc(name), n=len(result.patients))
    if result.warnings:
        warnings = "\n".join(_esc(line) for line in summarise_problems(result.warnings, 10))
        intro += text.CSV_WARNINGS.format(lines=warnings)
    await message.reply_text(intro)
    return await _ask_quiz(update, context)


async def got_question(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    draft = _draft(context)
    questions = draft.setdefault("questions", [])
    if len(questions) >= MAX_QUESTIONS:
        await message.reply_text(text.QUESTION_LIMIT.format(limit=MAX_QUESTIONS))
        return await _ask_due(update, context)
    try:
        question = parse_question(message.text)
    except QuestionError as exc:
        await message.reply_text(text.QUESTION_PROBLEM.format(problem=_esc(str(exc))))
        return QUIZ
    questions.append(question.to_json())
    added = text.QUESTION_ADDED.format(
        n=len(questions), correct=_esc(question.options[question.correct])
    )
    keyboard = _nav([InlineKeyboardButton(text.QUIZ_DONE_BUTTON, callback_data="bc:qd")])
    await message.reply_text(added, reply_markup=keyboard)
    return QUIZ


async def use_suggested(update: Update, context: BotContext) -> int:
    await _answer(update)
    draft = _draft(context)
    scenario = SCENARIOS.get(draft.get("scenario_key") or "")
    if scenario is not None and not draft.get("used_suggested"):
        questions = draft.setdefault("questions", [])
        room = MAX_QUESTIONS - len(questions)
        questions.extend(q.to_json() for q in scenario.questions[:room])
        draft["used_suggested"] = True
        return await _ask_quiz(
            update, context, text.SUGGESTED_ADDED.format(n=min(room, len(scenario.questions)))
        )
    return await _ask_quiz(update, context)


async def quiz_done(update: Update, context: BotContext) -> int:
    await _answer(update)
    return await _ask_due(update, context)


async def got_due(update: Update, context: BotContext) -> int:
    message = update.effective_message
    assert message is not None and message.text is not None
    today = context.services.clock.today()
    result = parse_date(message.text[:60], today, allow_future=True)
    if not result.ok or result.value is None:
        await message.reply_text(_esc(result.message or "Not a date."))
        return DUE
    if result.value < today:
        await message.reply_text(text.DUE_IN_PAST.format(date=format_date(result.value)))
        return DUE
    _draft(context)["due"] = result.value.isoformat()
    return await _preview(update, context)


async def no_due(update: Update, context: BotContext) -> int:
    await _answer(update)
    _draft(context)["due"] = None
    return await _preview(update, context)


@tutor_only
async def send(update: Update, context: BotContext, student: Student) -> int:
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    services = context.services
    if not draft.get("token") or not draft.get("title"):
        await query.answer(text.BROADCAST_EXPIRED, show_alert=True)
        return END
    due = draft.get("due")
    try:
        cohort = await services.tutoring.cohort(student.email, int(draft["cohort_id"]))
        if cohort.members == 0 or cohort.archived_at is not None:
            await query.answer()
            if context.user_data is not None:
                context.user_data.pop(DRAFT, None)
            await _say(update, context, text.SEND_NO_MEMBERS.format(cohort=_esc(cohort.name)))
            return END
        exercise, created = await services.exercises.create(
            tutor_email=student.email,
            cohort_id=int(draft["cohort_id"]),
            title=draft["title"],
            brief=draft["brief"],
            scenario_key=draft.get("scenario_key"),
            scenario_title=draft.get("scenario_title"),
            patients=draft.get("patients") or [],
            questions=draft.get("questions") or [],
            due_date=date.fromisoformat(due) if due else None,
            draft_token=draft["token"],
            exercise_id=draft.get("exercise_id"),
        )
    except NotYourCohortError:
        await query.answer()
        await _say(update, context, text.NOT_YOUR_COHORT)
        return END
    await query.answer()
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    if exercise.recipients == 0:
        await _say(update, context, text.SEND_NO_MEMBERS.format(cohort=_esc(exercise.cohort_name)))
        return END
    if not created:
        await context.bot.send_message(student.chat_id, text.SENT_ALREADY)
    body, keyboard = outbox.progress_message(exercise, Counter(pending=exercise.recipients))
    message = await query.edit_message_text(body, reply_markup=keyboard)
    if created and not isinstance(message, bool):
        await services.exercises.set_progress_message(
            exercise.id, message.chat_id, message.message_id
        )
    outbox.kick(context.application)
    return END


async def cancel(update: Update, context: BotContext) -> int:
    await _answer(update)
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)
    await _say(update, context, text.BROADCAST_CANCELLED)
    return END


async def stale_button(update: Update, context: BotContext) -> None:
    await _answer(update, "That button belongs to an earlier step: use the latest message.")


async def closed_button(update: Update, context: BotContext) -> None:
    await _answer(update, text.BROADCAST_EXPIRED, alert=True)


def _back(to: Callable[[Update, BotContext], Awaitable[int]]) -> Callback:
    async def back(update: Update, context: BotContext) -> int:
        await _answer(update)
        return await to(update, context)

    return back


async def _back_to_cohort(update: Update, context: BotContext) -> int:
    student = await current_student(update, context)
    if student is None:
        return END
    return await _ask_cohort(update, context, student)


async def _back_from_confirm(update: Update, context: BotContext) -> int:
    await _remove_buttons(update)
    return await _ask_due(update, context)


@tutor_only
async def resend(update: Update, context: BotContext, student: Student) -> None:
    """The Resend button on a finished progress message: the tutor's explicit choice."""
    query = update.callback_query
    assert query is not None and context.matches
    exercise_id = int(context.matches[0].group(1))
    n = await context.services.exercises.requeue(
        student.email, exercise_id, ("failed", "unconfirmed", "not_linked", "blocked")
    )
    await query.answer(text.RESENT.format(n=n) if n else text.NOTHING_TO_RESEND)
    if n:
        outbox.worker_of(context.application).forget_progress(exercise_id)
        outbox.kick(context.application)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    outbox.install(app, app.bot_data[SERVICES_KEY])
    text_only = filters.TEXT & ~filters.COMMAND
    other = ~filters.TEXT & ~filters.COMMAND & ~filters.Document.ALL
    with warnings.catch_warnings():
        # Buttons in a per-chat conversation: PTB warns in case per-message tracking was meant.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = _conversation(text_only, other)
    app.add_handler(conversation)
    app.add_handler(CallbackQueryHandler(resend, pattern=r"^bc:rs:(\d{1,18})$"))
    app.add_handler(CallbackQueryHandler(closed_button, pattern=r"^bc:"))


def _conversation(text_only: Any, other: Any) -> ConversationHandler[Any]:
    return ConversationHandler(
        entry_points=[
            CommandHandler("broadcast", start),
            CallbackQueryHandler(start, pattern=r"^bc:new:(\d{1,18})$"),
        ],
        states={
            COHORT: [CallbackQueryHandler(choose_cohort, pattern=r"^bc:c:(\d{1,18})$")],
            TITLE: [
                MessageHandler(text_only, got_title),
                MessageHandler(other | filters.Document.ALL, not_text),
                CallbackQueryHandler(_back(_back_to_cohort), pattern=r"^bc:b$"),
            ],
            BRIEF: [
                MessageHandler(text_only, got_brief),
                MessageHandler(other | filters.Document.ALL, not_text),
                CallbackQueryHandler(_back(_ask_title), pattern=r"^bc:b$"),
            ],
            SCENARIO: [
                CallbackQueryHandler(show_scenario, pattern=r"^bc:sc:([a-z0-9_]{1,40})$"),
                CallbackQueryHandler(use_scenario, pattern=r"^bc:use:([a-z0-9_]{1,40})$"),
                CallbackQueryHandler(scenario_list, pattern=r"^bc:scl$"),
                CallbackQueryHandler(ask_csv, pattern=r"^bc:csv$"),
                CallbackQueryHandler(no_patients, pattern=r"^bc:nop$"),
                CallbackQueryHandler(_back(_ask_brief), pattern=r"^bc:b$"),
            ],
            CSV: [
                MessageHandler(filters.Document.ALL, got_csv),
                MessageHandler(text_only | other, got_csv),
                CallbackQueryHandler(_back(_ask_scenario), pattern=r"^bc:b$"),
            ],
            QUIZ: [
                MessageHandler(text_only, got_question),
                MessageHandler(other | filters.Document.ALL, not_text),
                CallbackQueryHandler(use_suggested, pattern=r"^bc:sq$"),
                CallbackQueryHandler(quiz_done, pattern=r"^bc:qd$"),
                CallbackQueryHandler(_back(_ask_scenario), pattern=r"^bc:b$"),
            ],
            DUE: [
                MessageHandler(text_only, got_due),
                MessageHandler(other | filters.Document.ALL, not_text),
                CallbackQueryHandler(no_due, pattern=r"^bc:nd$"),
                CallbackQueryHandler(_back(_ask_quiz), pattern=r"^bc:b$"),
            ],
            CONFIRM: [
                CallbackQueryHandler(send, pattern=r"^bc:send$"),
                CallbackQueryHandler(_back(_back_from_confirm), pattern=r"^bc:b$"),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CallbackQueryHandler(cancel, pattern=r"^bc:x$"),
            CommandHandler("broadcast", start),
            CallbackQueryHandler(stale_button, pattern=r"^bc:(?!rs:)"),
        ],
        name="broadcast",
        persistent=True,
        allow_reentry=True,
    )
