"""Tutors' cohorts: create one and get its invite link, list them, see and remove members,
replace the invite link.

Creating, looking up and rotating codes is storage/cohorts.py (the identity feature owns
joining through `/start join_<code>`); every read here goes through `services.tutoring`, so
the database itself refuses another tutor's cohort. Buttons carry `co:<action>:<cohort>`;
members are addressed by a short hash of their email, which keeps callback data under
Telegram's 64 bytes without putting an email address in it.
"""

from __future__ import annotations

import hashlib
import html
import unicodedata
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import tutors as text
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.services.container import BotContext
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, tutor_only
from handlers.replies import say as _say
from storage.cohorts import INVITE_PREFIX
from storage.tutoring import CohortSummary, Member, NotYourCohortError

NAME_LIMIT = 80
NAME = "name"
MEMBERS_PER_PAGE = 10


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


def member_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:12]


def invite_link(context: BotContext, invite_code: str) -> str:
    return f"https://t.me/{context.bot.username}?start={INVITE_PREFIX}{invite_code}"


def when(context: BotContext, stamp: datetime | None) -> str:
    if stamp is None:
        return text.NEVER
    return format_date(stamp.astimezone(context.services.settings.tz).date())


def _card_keyboard(cohort: CohortSummary) -> InlineKeyboardMarkup:
    cid = cohort.cohort_id
    rows = [
        [
            InlineKeyboardButton(text.MEMBERS_BUTTON, callback_data=f"co:m:{cid}:0"),
            InlineKeyboardButton(text.STUDENTS_BUTTON, callback_data=f"st:c:{cid}:0"),
        ],
    ]
    if cohort.archived_at is None:
        rows.append(
            [
                InlineKeyboardButton(text.ROTATE_BUTTON, callback_data=f"co:r:{cid}"),
                InlineKeyboardButton(text.BROADCAST_BUTTON, callback_data=f"bc:new:{cid}"),
            ]
        )
    rows.append([InlineKeyboardButton(text.ALL_COHORTS_BUTTON, callback_data="co:l")])
    return InlineKeyboardMarkup(rows)


def _card(context: BotContext, cohort: CohortSummary) -> str:
    body = text.COHORT_CARD.format(
        name=_esc(cohort.name),
        members=plural(cohort.members, "member"),
        created=when(context, cohort.created_at),
        link=invite_link(context, cohort.invite_code),
    )
    if cohort.archived_at is not None:
        body += text.COHORT_ARCHIVED
    return body


class NewCohortForm(Form):
    """/cohort new NAME creates a cohort at once; /cohort new (or ➕ New cohort) asks for the
    name as a one-step form, so it follows every form's rules (handlers/forms.py)."""

    name = "cohort"
    prefix = "cohf"
    command = "/cohort new"
    own_commands = frozenset({"cohort"})
    own_callbacks = ("co:new",)
    states = (NAME,)
    audience = "tutor"

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("cohort", self.entry(tutor_only(self._command))),
            CallbackQueryHandler(self.entry(tutor_only(self._button)), pattern=r"^co:new$"),
        ]

    async def _command(self, update: Update, context: BotContext, student: Student) -> object:
        args = context.args or []
        if not args or args[0].lower() not in ("new", "create", "add"):
            await self.close_quietly(update, context)
            await context.bot.send_message(student.chat_id, text.COHORT_USAGE)
            if not args:
                await _list(update, context, student)
            return END
        name = " ".join(args[1:])
        if not name.strip():
            return await self.fresh(update, context)
        problem = _name_problem(name)
        if problem is not None:
            return await self.fresh(update, context, error=problem)
        await self.close_quietly(update, context)
        await _create(context, student, name)
        return END

    async def _button(self, update: Update, context: BotContext, student: Student) -> object:
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await self.fresh(update, context)

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        if old.get("prompt"):
            await self.strip_buttons(context, update.effective_chat.id, int(old["prompt"]))
        draft = self.new_draft(context, update.effective_chat.id, NAME)
        return await self.show(NAME, draft, update, context, error=kwargs.get("error", ""))

    def worth_keeping(self, draft: Draft) -> bool:
        return False  # nothing typed yet

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        return text.ASK_COHORT_NAME.format(limit=NAME_LIMIT), self.keyboard(back=False)

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        problem = _name_problem(raw)
        if problem is not None:
            return await self.show(NAME, draft, update, context, error=problem)
        student = await current_student(update, context)
        if student is None or not student.is_tutor:
            self.drop(context)
            return END
        self.drop(context)
        if draft.get("prompt"):
            await self.strip_buttons(context, student.chat_id, int(draft["prompt"]))
        await _create(context, student, raw)
        return END

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        return None  # Cancel is the prompt's only button


def _name_problem(raw: str) -> str | None:
    name = " ".join(raw.split())
    if not name:
        return text.COHORT_NAME_EMPTY
    if len(name) > NAME_LIMIT:
        return text.COHORT_NAME_TOO_LONG.format(limit=NAME_LIMIT)
    if any(unicodedata.category(ch) == "Cc" for ch in raw if ch not in "\n\t"):
        return text.COHORT_NAME_CONTROL
    return None


async def _create(context: BotContext, student: Student, raw: str) -> None:
    name = " ".join(raw.split())
    created = await context.services.cohorts.create(name, student.email)
    cohort = await context.services.tutoring.cohort(student.email, created.id)
    await context.bot.send_message(
        student.chat_id,
        text.COHORT_CREATED.format(
            name=_esc(cohort.name), link=invite_link(context, cohort.invite_code)
        ),
        reply_markup=_card_keyboard(cohort),
    )


@tutor_only
async def cohorts_command(update: Update, context: BotContext, student: Student) -> None:
    await _list(update, context, student)


async def _list(update: Update, context: BotContext, student: Student) -> None:
    cohorts = await context.services.tutoring.cohorts(student.email)
    new = [InlineKeyboardButton(text.NEW_COHORT_BUTTON, callback_data="co:new")]
    if not cohorts:
        await _say(update, context, text.NO_COHORTS, InlineKeyboardMarkup([new]))
        return
    rows = []
    for c in cohorts[:30]:
        label = text.COHORT_BUTTON.format(name=c.name[:40], members=c.members)
        if c.archived_at is not None:
            label = "🗄 " + label
        rows.append([InlineKeyboardButton(label, callback_data=f"co:v:{c.cohort_id}")])
    rows.append(new)
    await _say(update, context, text.COHORTS_TITLE, InlineKeyboardMarkup(rows))


@tutor_only
async def on_button(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    action = parts[1]
    if action == "l":
        await query.answer()
        await _list(update, context, student)
        return
    cohort_id = int(parts[2])
    tutoring = context.services.tutoring
    try:
        cohort = await tutoring.cohort(student.email, cohort_id)
    except NotYourCohortError:
        await query.answer(text.NOT_YOUR_COHORT, show_alert=True)
        return
    if action == "v":
        await query.answer()
        await _say(update, context, _card(context, cohort), _card_keyboard(cohort))
    elif action == "m":
        await query.answer()
        await _members(update, context, student, cohort, int(parts[3]))
    elif action == "r":
        await query.answer()
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(text.ROTATE_YES, callback_data=f"co:ry:{cohort_id}")],
                [InlineKeyboardButton(text.BACK, callback_data=f"co:v:{cohort_id}")],
            ]
        )
        await _say(update, context, text.ROTATE_CONFIRM.format(name=_esc(cohort.name)), keyboard)
    elif action == "ry":
        rotated = await context.services.cohorts.rotate_invite(cohort_id)
        await query.answer()
        if rotated is None:
            return
        cohort = await tutoring.cohort(student.email, cohort_id)
        await _say(
            update,
            context,
            text.ROTATED.format(
                name=_esc(cohort.name), link=invite_link(context, cohort.invite_code)
            ),
            _card_keyboard(cohort),
        )
    elif action in ("x", "xy"):
        member = await _member_by_key(context, student, cohort_id, parts[3])
        if member is None:
            await query.answer()
            await _members(update, context, student, cohort, 0)
            return
        if action == "x":
            await query.answer()
            keyboard = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(
                        text.REMOVE_YES, callback_data=f"co:xy:{cohort_id}:{parts[3]}"
                    )],
                    [InlineKeyboardButton(text.BACK, callback_data=f"co:m:{cohort_id}:0")],
                ]
            )  # fmt: skip
            body = text.REMOVE_CONFIRM.format(email=_esc(member.email), name=_esc(cohort.name))
            await _say(update, context, body, keyboard)
            return
        removed = await tutoring.remove_member(student.email, cohort_id, member.email)
        notice = (text.REMOVED if removed else text.NOT_A_MEMBER).format(
            email=_esc(member.email), name=_esc(cohort.name)
        )
        await query.answer()
        cohort = await tutoring.cohort(student.email, cohort_id)
        await context.bot.send_message(student.chat_id, notice)
        await _members(update, context, student, cohort, 0)
    else:
        await query.answer()


async def _member_by_key(
    context: BotContext, student: Student, cohort_id: int, key: str
) -> Member | None:
    for m in await context.services.tutoring.members(student.email, cohort_id):
        if member_key(m.email) == key:
            return m
    return None


async def _members(
    update: Update, context: BotContext, student: Student, cohort: CohortSummary, page: int
) -> None:
    members = await context.services.tutoring.members(student.email, cohort.cohort_id)
    back = InlineKeyboardButton(text.BACK, callback_data=f"co:v:{cohort.cohort_id}")
    if not members:
        body = text.MEMBERS_EMPTY.format(
            name=_esc(cohort.name), link=invite_link(context, cohort.invite_code)
        )
        await _say(update, context, body, InlineKeyboardMarkup([[back]]))
        return
    pages = (len(members) + MEMBERS_PER_PAGE - 1) // MEMBERS_PER_PAGE
    page = max(0, min(page, pages - 1))
    start = page * MEMBERS_PER_PAGE
    shown = members[start : start + MEMBERS_PER_PAGE]
    lines = [
        text.MEMBERS_TITLE.format(
            name=_esc(cohort.name),
            count=plural(len(members), "member"),
            page=text.PAGE.format(page=page + 1, pages=pages) if pages > 1 else "",
        ),
        "",
    ]
    remove_row = []
    for n, m in enumerate(shown, start=start + 1):
        status = text.LINKED if m.linked else (text.BLOCKED if m.blocked else text.NOT_LINKED)
        lines.append(
            text.MEMBER_LINE.format(
                n=n, email=_esc(m.email), linked=status, seen=when(context, m.last_seen_at)
            )
        )
        remove_row.append(
            InlineKeyboardButton(
                text.REMOVE_BUTTON.format(n=n, email=clip(m.email, 40)),
                callback_data=f"co:x:{cohort.cohort_id}:{member_key(m.email)}",
            )
        )
    rows = [[b] for b in remove_row]  # one per line: each names the member it removes
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text.PREV, callback_data=f"co:m:{cohort.cohort_id}:{page - 1}")
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(text.NEXT, callback_data=f"co:m:{cohort.cohort_id}:{page + 1}")
        )
    if nav:
        rows.append(nav)
    rows.append([back])
    await _say(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    NewCohortForm().register(app)
    app.add_handler(CommandHandler("cohorts", cohorts_command))
    app.add_handler(
        CallbackQueryHandler(
            on_button,
            pattern=r"^co:(l|[vr]:\d{1,18}|ry:\d{1,18}|m:\d{1,18}:\d{1,4}|xy?:\d{1,18}:[0-9a-f]{12})$",
        )
    )
