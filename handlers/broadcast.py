"""/broadcast: a tutor sends an exercise to a cohort, step by step, with a true preview.

Steps: cohort -> title -> brief -> scenario patients (a built-in scenario, a CSV upload, or
none) -> quiz questions -> due date -> preview and Send. It is a `Form` (handlers/forms.py),
so it follows every form's rules: one prompt at a time with Back and Cancel, the draft in
persistent user_data and the step in a persistent conversation (a restart resumes it), text
only ever lands in the step on screen, another command puts it on hold with ▶️ Carry on,
/cancel ends it, and the tutor's role is checked at every step.

The preview is one message, the exercise exactly as students will read it, with the Send
question under it; the quiz polls, exactly as students will get them, come just before it.
Send creates the exercise and one outbox row per member in one transaction (keyed by the
draft's token, so a double press sends once), turns the preview into the live progress
message, and wakes the outbox worker (bot/services/outbox.py).
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from datetime import date
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import tutors as text
from bot.messages.html import esc
from bot.messages.numbers import plural
from bot.rules.dates import format_date, parse_date
from bot.rules.fields import clip
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
    ScenarioPatient,
    parse_question,
)
from bot.services import outbox
from bot.services.container import SERVICES_KEY, BotContext
from bot.services.patient_form import Choice
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, tutor_only
from storage.exercises import NotYourCohortError

log = logging.getLogger(__name__)

COHORT, TITLE, BRIEF, SCENARIO, DETAIL, CSV, QUIZ, DUE, CONFIRM = (
    "cohort", "title", "brief", "scenario", "detail", "csv", "quiz", "due", "confirm",
)  # fmt: skip
TITLE_LIMIT = 120
BRIEF_LIMIT = 3000
COHORTS_SHOWN = 20


PATIENT_LINES_SHOWN = 20


def patient_lines(patients: list[dict[str, Any]], today: date) -> str:
    """One line per scenario patient (name, pathway, clock start on `today`'s import), the
    same for a built-in scenario and an uploaded CSV: names clipped and at most
    PATIENT_LINES_SHOWN lines, so fifty long names still fit one message with the step."""
    lines = []
    for data in patients[:PATIENT_LINES_SHOWN]:
        p = ScenarioPatient.from_json(data)
        row = p.row(today, added_by="preview", tag="")
        lines.append(
            text.SCENARIO_PATIENT_LINE.format(
                name=esc(clip(p.name, 40)),
                pathway=PATHWAY_TYPES[p.pathway_type].label,
                start=format_date(row["clock_start_date"]),
            )
        )
    if len(patients) > PATIENT_LINES_SHOWN:
        lines.append(text.MORE_PATIENTS.format(n=len(patients) - PATIENT_LINES_SHOWN))
    return "\n".join(lines)


class BroadcastForm(Form):
    name = "broadcast"
    prefix = "bcf"
    command = "/broadcast"
    own_commands = frozenset({"broadcast"})
    own_callbacks = ("bc:new:",)
    states = (COHORT, TITLE, BRIEF, SCENARIO, DETAIL, CSV, QUIZ, DUE, CONFIRM)
    audience = "tutor"
    cancelled = text.BROADCAST_CANCELLED

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        start = self.entry(tutor_only(self._start))
        return [
            CommandHandler("broadcast", start),
            # 📣 Send an exercise on a cohort's card: straight to the title.
            CallbackQueryHandler(start, pattern=r"^bc:new:(\d{1,18})$"),
        ]

    # -- entry ----------------------------------------------------------------------------------
    async def _start(self, update: Update, context: BotContext, student: Student) -> object:
        if update.callback_query is not None:
            await update.callback_query.answer()
        held = self.resumable(context)
        if held is not None and self.worth_keeping(held) and not context.matches:
            return await self.offer_resume(held, update, context)
        match = context.matches[0] if context.matches else None
        draft = await self._new(update, context, student)
        if not await self._cohorts(context, student):
            return await self.finish(text.BROADCAST_NEEDS_COHORT, draft, update, context)
        if match is not None:
            return await self.choose(int(match.group(1)), draft, update, context, student)
        return await self.show(COHORT, draft, update, context)

    async def _new(self, update: Update, context: BotContext, student: Student) -> Draft:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        if old.get("prompt"):  # a fresh form starts at the bottom of the chat
            await self.strip_buttons(context, update.effective_chat.id, int(old["prompt"]))
        return self.new_draft(
            context,
            update.effective_chat.id,
            COHORT,
            tutor_email=student.email,
            token=secrets.token_urlsafe(12),
        )

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        student = await current_student(update, context)
        if student is None:
            return END
        draft = await self._new(update, context, student)
        return await self.show(COHORT, draft, update, context)

    @staticmethod
    async def _cohorts(context: BotContext, student: Student) -> list[Any]:
        cohorts = await context.services.tutoring.cohorts(student.email)
        return [c for c in cohorts if not c.archived_at]

    # -- what the hold and resume notices say ---------------------------------------------------
    def worth_keeping(self, draft: Draft) -> bool:
        return bool(draft.get("title") or draft.get("cohort_id"))

    def where(self, draft: Draft) -> str:
        step = self.current(draft)
        n = {COHORT: 1, TITLE: 2, BRIEF: 3, SCENARIO: 4, DETAIL: 4, CSV: 4, QUIZ: 5, DUE: 6}
        if step in n:
            return text.BROADCAST_WHERE.format(n=n[step], title=text.BROADCAST_STEPS[step])
        return text.BROADCAST_WHERE_PREVIEW

    # -- rendering -----------------------------------------------------------------------------
    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        if step == COHORT:
            student = await current_student(update, context)
            cohorts = await self._cohorts(context, student) if student else []
            choices = [
                [Choice(text.BROADCAST_COHORT_BUTTON.format(name=c.name[:40],
                        members=c.members), f"{c.cohort_id}")]
                for c in cohorts[:COHORTS_SHOWN]
            ]  # fmt: skip
            body = text.BROADCAST_PICK_COHORT if cohorts else text.BROADCAST_NEEDS_COHORT
            return body, self.keyboard(choices, back=False)
        if step == TITLE:
            body = text.ASK_TITLE.format(cohort=esc(draft["cohort_name"]), limit=TITLE_LIMIT)
            return body + _currently(draft.get("title")), self.keyboard()
        if step == BRIEF:
            body = text.ASK_BRIEF.format(limit=BRIEF_LIMIT)
            return body + _currently(draft.get("brief")), self.keyboard()
        if step == SCENARIO:
            rows = [
                [(text.SCENARIO_BUTTON.format(title=s.title, n=len(s.patients)), f"sc:{key}")]
                for key, s in SCENARIOS.items()
            ]
            rows.append([(text.UPLOAD_CSV_BUTTON, "csv")])
            rows.append([(text.NO_PATIENTS_BUTTON, "nop")])
            return text.ASK_SCENARIO, self.keyboard(extra=rows)
        if step == DETAIL:
            return self.render_detail(draft, context)
        if step == CSV:
            columns = "\n".join(
                text.CSV_COLUMN_LINE.format(
                    name=c.name, star="*" if c.required else "", meaning=esc(c.meaning)
                )
                for c in COLUMNS
            )
            return text.CSV_LAYOUT.format(max_rows=MAX_ROWS, columns=columns), self.keyboard()
        if step == QUIZ:
            return self.render_quiz(draft)
        if step == DUE:
            return text.ASK_DUE, self.keyboard(extra=[[(text.NO_DUE_BUTTON, "nd")]])
        return await self.render_confirm(draft, update, context)

    def render_detail(self, draft: Draft, context: BotContext) -> tuple[str, Keyboard]:
        scenario = SCENARIOS[draft["viewing"]]
        body = text.SCENARIO_DETAIL.format(
            title=esc(scenario.title),
            n=plural(len(scenario.patients), "patient"),
            teaches=esc(scenario.teaches),
            answer_key=esc(scenario.answer_key),
            patients=patient_lines(
                [p.to_json() for p in scenario.patients], context.services.clock.today()
            ),
        )
        rows = [[(text.USE_SCENARIO_BUTTON, "use")], [(text.OTHER_SCENARIOS_BUTTON, "scl")]]
        return body, self.keyboard(extra=rows, back=False)

    def render_quiz(self, draft: Draft) -> tuple[str, Keyboard]:
        questions = draft.get("questions") or []
        rows = []
        scenario = SCENARIOS.get(draft.get("scenario_key") or "")
        if scenario is not None and scenario.questions and not draft.get("used_suggested"):
            label = text.SUGGESTED_QUIZ_BUTTON.format(
                questions=plural(len(scenario.questions), "question")
            )
            rows.append([(label, "sq")])
        rows.append([(text.QUIZ_DONE_BUTTON if questions else text.NO_QUIZ_BUTTON, "qd")])
        body = text.ASK_QUIZ
        if questions:
            body += text.QUIZ_SO_FAR.format(questions=plural(len(questions), "question"))
        return body, self.keyboard(extra=rows)

    async def render_confirm(
        self, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        due = _due(draft)
        questions = draft.get("questions") or []
        patients = draft.get("patients") or []
        exercise = outbox.exercise_text(
            exercise_id=int(draft["exercise_id"]),
            title=draft["title"],
            cohort=draft["cohort_name"],
            brief=draft["brief"],
            patients=len(patients),
            questions=len(questions),
            due=due,
        )
        members = int(draft.get("members") or 0)
        body = text.PREVIEW.format(
            quiz=text.PREVIEW_QUIZ_ABOVE if questions else "",
            exercise=exercise,
            confirm=text.CONFIRM_SEND.format(
                title=esc(draft["title"]),
                cohort=esc(draft["cohort_name"]),
                students=plural(members, "student"),
            ),
        )
        return body, self.keyboard(extra=[[(text.SEND_BUTTON, "send")]])

    # -- typed answers --------------------------------------------------------------------------
    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step == TITLE:
            title = " ".join(raw.split())
            if len(title) > TITLE_LIMIT:
                problem = text.TITLE_TOO_LONG.format(n=len(title), limit=TITLE_LIMIT)
                return await self.show(TITLE, draft, update, context, error=problem)
            draft["title"] = title
            return await self.go(BRIEF, draft, update, context)
        if step == BRIEF:
            brief = raw.strip()
            if len(brief) > BRIEF_LIMIT:
                problem = text.BRIEF_TOO_LONG.format(n=len(brief), limit=BRIEF_LIMIT)
                return await self.show(BRIEF, draft, update, context, error=problem)
            draft["brief"] = brief
            return await self.go(SCENARIO, draft, update, context)
        if step == CSV:
            return await self.show(CSV, draft, update, context, error=text.CSV_SEND_FILE)
        if step == QUIZ:
            return await self.add_question(raw, draft, update, context)
        if step == DUE:
            today = context.services.clock.today()
            result = parse_date(raw[:60], today, allow_future=True)
            if not result.ok or result.value is None:
                problem = esc(result.message or text.DUE_UNREADABLE)
                return await self.show(DUE, draft, update, context, error=problem)
            if result.value < today:
                problem = text.DUE_IN_PAST.format(date=format_date(result.value))
                return await self.show(DUE, draft, update, context, error=problem)
            draft["due"] = result.value.isoformat()
            return await self.preview(draft, update, context)
        return await self.show(step, draft, update, context, error=text.TAP_A_BUTTON)

    async def add_question(
        self, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        questions: list[dict[str, Any]] = draft.setdefault("questions", [])
        if len(questions) >= MAX_QUESTIONS:
            notice = text.QUESTION_LIMIT.format(limit=MAX_QUESTIONS)
            return await self.go(DUE, draft, update, context, error=notice)
        try:
            question = parse_question(raw)
        except QuestionError as exc:
            problem = text.QUESTION_PROBLEM.format(problem=esc(str(exc)))
            return await self.show(QUIZ, draft, update, context, error=problem)
        questions.append(question.to_json())
        notice = text.QUESTION_ADDED.format(
            n=len(questions), correct=esc(question.options[question.correct])
        )
        return await self.show(QUIZ, draft, update, context, error=notice)

    async def on_other(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        message = update.effective_message
        if step != CSV or message is None or message.document is None:
            return await super().on_other(step, draft, update, context)
        document = message.document
        name = document.file_name or "file"
        if not name.lower().endswith((".csv", ".txt")) and document.mime_type not in (
            "text/csv",
            "text/plain",
            "application/vnd.ms-excel",
        ):
            problem = text.CSV_NOT_CSV.format(name=esc(clip(name, 60)))
            return await self.show(CSV, draft, update, context, error=problem)
        if document.file_size and document.file_size > MAX_BYTES:
            problem = text.CSV_TOO_BIG.format(
                kb=document.file_size // 1024, limit=MAX_BYTES // 1024
            )
            return await self.show(CSV, draft, update, context, error=problem)
        try:
            file = await document.get_file()
            content = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            log.info("CSV download failed: %s", exc)
            return await self.show(CSV, draft, update, context, error=text.CSV_DOWNLOAD_FAILED)
        settings = context.services.settings
        today = context.services.clock.today()
        result = parse_exercise_csv(
            content, today=today, allow_any_valid_nhs=settings.allow_any_valid_nhs_number
        )
        if not result.ok:
            lines = "\n".join(esc(line) for line in summarise_problems(result.errors))
            problem = text.CSV_ERRORS.format(
                file=esc(clip(name, 60)),
                problems=plural(len(result.errors), "problem"),
                lines=lines,
            )
            return await self.show(CSV, draft, update, context, error=problem)
        patients = [p.to_json() for p in result.patients]
        draft.update(scenario_key=None, scenario_title=name[:100], patients=patients)
        notice = text.CSV_OK.format(
            file=esc(clip(name, 60)),
            patients=plural(len(patients), "patient"),
            lines=patient_lines(patients, today),
        )
        if result.warnings:
            warned = "\n".join(esc(line) for line in summarise_problems(result.warnings, 10))
            notice += text.CSV_WARNINGS.format(lines=warned)
        return await self.go(QUIZ, draft, update, context, error=notice)

    # -- buttons ---------------------------------------------------------------------------------
    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        kind, _, value = action.partition(":")
        if step == COHORT and kind == "c" and value.isdigit():
            student = await current_student(update, context)
            if student is None:
                return END
            return await self.choose(int(value), draft, update, context, student)
        if step == SCENARIO and kind == "sc" and value in SCENARIOS:
            draft["viewing"] = value
            return await self.go(DETAIL, draft, update, context)
        if step == SCENARIO and kind == "csv":
            chat = update.effective_chat
            assert chat is not None
            prompt = draft.get("prompt")
            if prompt:  # the layout and the template go below, then the prompt after them
                await self.strip_buttons(context, chat.id, int(prompt))
                draft["prompt"] = None
            await context.bot.send_document(
                chat.id,
                template_csv(),
                filename="exercise_patients_template.csv",
                caption=text.CSV_TEMPLATE_CAPTION,
            )
            return await self.go(CSV, draft, update, context)
        if step == SCENARIO and kind == "nop":
            draft.update(scenario_key=None, scenario_title=None, patients=[])
            return await self.go(QUIZ, draft, update, context)
        if step == DETAIL and kind == "use":
            scenario = SCENARIOS[draft["viewing"]]
            draft.update(
                scenario_key=scenario.key,
                scenario_title=scenario.title,
                patients=[p.to_json() for p in scenario.patients],
                used_suggested=False,
            )
            return await self.go(QUIZ, draft, update, context)
        if step == DETAIL and kind == "scl":
            return await self.back_to(SCENARIO, draft, update, context)
        if step == QUIZ and kind == "sq":
            return await self.use_suggested(draft, update, context)
        if step == QUIZ and kind == "qd":
            return await self.go(DUE, draft, update, context)
        if step == DUE and kind == "nd":
            draft["due"] = None
            return await self.preview(draft, update, context)
        if step == CONFIRM and kind == "send":
            return await self.send(draft, update, context)
        return None

    async def choose(
        self, cohort_id: int, draft: Draft, update: Update, context: BotContext, student: Student
    ) -> object:
        try:
            cohort = await context.services.tutoring.cohort(student.email, cohort_id)
        except NotYourCohortError:
            return await self.show(COHORT, draft, update, context, error=text.NOT_YOUR_COHORT)
        if cohort.archived_at is not None or cohort.members == 0:
            problem = text.BROADCAST_EMPTY_COHORT.format(name=esc(cohort.name))
            return await self.show(COHORT, draft, update, context, error=problem)
        draft.update(cohort_id=cohort.cohort_id, cohort_name=cohort.name, members=cohort.members)
        return await self.go(TITLE, draft, update, context)

    async def use_suggested(self, draft: Draft, update: Update, context: BotContext) -> object:
        scenario = SCENARIOS.get(draft.get("scenario_key") or "")
        if scenario is None or draft.get("used_suggested"):
            return await self.show(QUIZ, draft, update, context)
        questions: list[dict[str, Any]] = draft.setdefault("questions", [])
        room = MAX_QUESTIONS - len(questions)
        added = scenario.questions[:room]
        questions.extend(q.to_json() for q in added)
        draft["used_suggested"] = True
        notice = text.SUGGESTED_ADDED.format(questions=plural(len(added), "question"))
        return await self.show(QUIZ, draft, update, context, error=notice)

    # -- preview and send ------------------------------------------------------------------------
    async def preview(self, draft: Draft, update: Update, context: BotContext) -> object:
        """The quiz polls exactly as students get them (once per set of questions), then the
        one preview message with Send."""
        services = context.services
        if not draft.get("exercise_id"):
            draft["exercise_id"] = await services.exercises.reserve_id()
        try:
            cohort = await services.tutoring.cohort(draft["tutor_email"], int(draft["cohort_id"]))
        except NotYourCohortError:  # deleted or handed over while the form was open
            return await self.finish(text.NOT_YOUR_COHORT, draft, update, context)
        draft.update(cohort_name=cohort.name, members=cohort.members)
        questions = draft.get("questions") or []
        if questions and draft.get("previewed") != questions:
            chat = update.effective_chat
            assert chat is not None
            if draft.get("prompt"):  # the polls go below the last prompt, the preview after
                await self.strip_buttons(context, chat.id, int(draft["prompt"]))
                draft["prompt"] = None
            for n, q in enumerate((QuizQuestion.from_json(q) for q in questions), start=1):
                try:
                    await outbox.send_quiz_poll(
                        context.bot, chat.id, question=q.question, options=q.options,
                        correct=q.correct, explanation=q.explanation,
                    )  # fmt: skip
                except TelegramError as exc:  # never silently missing from the preview
                    log.info("Preview poll not sent: %s", exc)
                    await context.bot.send_message(chat.id, text.PREVIEW_POLL_FAILED.format(n=n))
            draft["previewed"] = questions
        return await self.go(CONFIRM, draft, update, context)

    async def send(self, draft: Draft, update: Update, context: BotContext) -> object:
        services = context.services
        student = await current_student(update, context)
        if student is None or not student.is_tutor:
            return END
        due = _due(draft)
        try:
            cohort = await services.tutoring.cohort(student.email, int(draft["cohort_id"]))
            if cohort.members == 0 or cohort.archived_at is not None:
                body = text.SEND_NO_MEMBERS.format(cohort=esc(cohort.name))
                return await self.finish(body, draft, update, context)
            exercise, created = await services.exercises.create(
                tutor_email=student.email,
                cohort_id=int(draft["cohort_id"]),
                title=draft["title"],
                brief=draft["brief"],
                scenario_key=draft.get("scenario_key"),
                scenario_title=draft.get("scenario_title"),
                patients=draft.get("patients") or [],
                questions=draft.get("questions") or [],
                due_date=due,
                draft_token=draft["token"],
                exercise_id=draft.get("exercise_id"),
            )
        except NotYourCohortError:
            return await self.finish(text.NOT_YOUR_COHORT, draft, update, context)
        if exercise.recipients == 0:
            body = text.SEND_NO_MEMBERS.format(cohort=esc(exercise.cohort_name))
            return await self.finish(body, draft, update, context)
        if not created:
            await context.bot.send_message(student.chat_id, text.SENT_ALREADY)
        body, keyboard = outbox.progress_message(exercise, Counter(pending=exercise.recipients))
        await self.finish(body, draft, update, context, keyboard=keyboard)
        query = update.callback_query
        if created and query is not None and query.message is not None:
            await services.exercises.set_progress_message(
                exercise.id, student.chat_id, query.message.message_id
            )
        outbox.kick(context.application)
        return END


def _currently(value: str | None) -> str:
    """What a step already holds, so Back shows the tutor's earlier answer."""
    return "\n\n" + text.CURRENTLY.format(value=esc(value[:200])) if value else ""


def _due(draft: Draft) -> date | None:
    due = draft.get("due")
    return date.fromisoformat(due) if due else None


@tutor_only
async def resend(update: Update, context: BotContext, student: Student) -> None:
    """The Resend button on a finished progress message: the tutor's explicit choice."""
    query = update.callback_query
    assert query is not None and context.matches
    exercise_id = int(context.matches[0].group(1))
    n = await context.services.exercises.requeue(
        student.email, exercise_id, ("failed", "unconfirmed", "not_linked", "blocked")
    )
    await query.answer(
        text.RESENT.format(students=plural(n, "student")) if n else text.NOTHING_TO_RESEND
    )
    if n:
        outbox.worker_of(context.application).forget_progress(exercise_id)
        outbox.kick(context.application)


async def closed_button(update: Update, context: BotContext) -> None:
    """A button of the /broadcast form as it was before it became a `Form` (old messages)."""
    if update.callback_query is not None:
        await update.callback_query.answer(text.BROADCAST_EXPIRED, show_alert=True)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    outbox.install(app, app.bot_data[SERVICES_KEY])
    BroadcastForm().register(app)
    app.add_handler(CallbackQueryHandler(resend, pattern=r"^bc:rs:(\d{1,18})$"))
    app.add_handler(CallbackQueryHandler(closed_button, pattern=r"^bc:"))
