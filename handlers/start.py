"""/start (linking a Telegram account to a verified platform email), /whoami and /unlink.

/start is a persistent ConversationHandler ("start"): email -> (did you mean?) -> code. Its
state and the email being verified live in Postgres, so a restart between the code being
sent and the student typing it changes nothing. A linked user is welcomed back with the main
menu. `/start join_<invite>` (a tutor's cohort link) is remembered through linking and joins
the cohort afterwards, or at once for a linked user. The same link pasted as text (copied
from an email, say) does exactly the same.

Why the conversation sits in group 0 and matches narrowly: while a student is linking, only
plain text, its own buttons and /cancel are taken; any other command falls through to the
feature that owns it (which, for an unlinked user, explains how to link).
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import identity as text
from bot.rules.dates import format_date
from bot.rules.email_address import check_email, domain_allowed
from bot.rules.fields import strip_control_chars
from bot.services import outbox
from bot.services.container import BACKGROUND_TASK, BotContext
from bot.services.identity import CheckOutcome, Identity, JoinResult, SendOutcome, join_cohort
from bot.services.verification import (
    CODE_LENGTH,
    CODE_TTL,
    EMAIL_HOURLY_CAP,
    HOURLY_CAP,
    MAX_ATTEMPTS,
    mask_email,
)
from handlers import command_menu as commands
from handlers.guards import current_student
from handlers.invite_links import PASTED_INVITE, pasted_invite
from handlers.menu import main_menu_keyboard

log = logging.getLogger(__name__)

# Integers: PostgresPersistence re-parses a string state as JSON text, so strings don't survive.
EMAIL, CONFIRM, CODE = 0, 1, 2
END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE

# user_data keys (JSON-friendly; persisted with the conversation)
K_EMAIL = "link_email"  # the address a code was last sent to
K_SUGGESTION = "link_suggestion"  # "did you mean" candidate
K_TYPED = "link_typed"  # the valid address as typed, when the suggestion is only a hunch
K_INVITE = "link_invite"  # cohort invite code to join once linked
_KEYS = (K_EMAIL, K_SUGGESTION, K_TYPED, K_INVITE)

INVITE_PAYLOAD = re.compile(r"^join_([A-Za-z0-9_-]{1,59})$")
_CODE_CHARS = re.compile(r"^[\d\s-]+$")
_SIX_DIGITS = re.compile(rf"(?<!\d)\d{{{CODE_LENGTH}}}(?!\d)")
MINUTES = int(CODE_TTL.total_seconds() // 60)


def esc(value: str) -> str:
    return html.escape(value, quote=False)


def _data(context: BotContext) -> dict[str, Any]:
    if context.user_data is None:  # pragma: no cover - private chats always have user_data
        raise RuntimeError("user_data unavailable")
    return context.user_data


def _clear(context: BotContext, *, keep_invite: bool = False) -> None:
    data = _data(context)
    for key in _KEYS:
        if not (keep_invite and key == K_INVITE):
            data.pop(key, None)


def code_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text.BUTTON_RESEND, callback_data="start:resend")],
            [
                InlineKeyboardButton(text.BUTTON_OTHER_EMAIL, callback_data="start:email"),
                InlineKeyboardButton(text.BUTTON_CANCEL, callback_data="start:cancel"),
            ],
        ]
    )


def _confirm_keyboard(keep_label: str, keep_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text.YES_USE_IT, callback_data="start:yes")],
            [InlineKeyboardButton(keep_label, callback_data=keep_data)],
        ]
    )


async def _say(
    update: Update,
    context: BotContext,
    message: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, message, reply_markup=markup)


async def _ack(update: Update) -> None:
    """Answer the button press and take the buttons off the message it came from."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    # Already without buttons, or too old to edit: nothing to tidy.
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)


def _user_id(update: Update) -> int:
    if update.effective_user is None:  # pragma: no cover - commands always have a user
        raise RuntimeError("update without a user")
    return update.effective_user.id


# --- /start ------------------------------------------------------------------------------
async def start(update: Update, context: BotContext) -> object:
    services = context.services
    args = context.args or []
    match = INVITE_PAYLOAD.match(args[0]) if args else None
    invite = match.group(1) if match else pasted_invite(update)
    student = await current_student(update, context)
    if student is None and update.effective_user and update.effective_chat:
        # Back after blocking the bot: the link was only paused, so no new code is needed.
        restored = await services.links.reactivate_blocked(
            update.effective_user.id, update.effective_chat.id
        )
        if restored is not None:
            student = await current_student(update, context)
    if student is not None:
        _clear(context)
        lines = []
        if invite is not None:
            lines.append(_join_text(await _join(context, student.email, invite)))
        name = esc(student.first_name or "there")
        welcome = text.WELCOME_BACK_TUTOR if student.is_tutor else text.WELCOME_BACK
        lines.append(welcome.format(name=name))
        await _say(update, context, "\n\n".join(lines), main_menu_keyboard())
        return END

    lines = []
    if invite is not None:
        cohort = await services.cohorts.find_by_code(invite)
        if cohort is None:
            _data(context).pop(K_INVITE, None)
            lines.append(text.INVITE_INVALID)
        else:
            _data(context)[K_INVITE] = invite
            lines.append(text.INVITE_AFTER_LINK.format(cohort=esc(cohort.name)))

    email = _data(context).get(K_EMAIL)
    if email and await Identity(services).waiting_for(_user_id(update), email):
        lines.append(text.RESUME_CODE.format(email=esc(email)))
        await _say(update, context, "\n\n".join(lines), code_keyboard())
        return CODE
    user = update.effective_user
    name = esc(user.first_name if user and user.first_name else "there")
    lines[:0] = [text.INTRO.format(name=name)]
    lines.append(text.ASK_EMAIL)
    await _say(update, context, "\n\n".join(lines))
    return EMAIL


# --- typing the email ---------------------------------------------------------------------
async def got_text_for_email(update: Update, context: BotContext) -> object:
    raw = update.effective_message.text if update.effective_message else ""
    raw = strip_control_chars(raw or "")
    if _looks_like_code(raw) and _data(context).get(K_EMAIL):
        return await _check(update, context, raw)
    return await _take_email(update, context, raw)


async def _take_email(update: Update, context: BotContext, raw: str) -> object:
    settings = context.services.settings
    result = check_email(raw, settings.email_domains)
    data = _data(context)
    if result.ok and result.email:
        return await _send_code(update, context, result.email)
    if result.email and result.suggestion:
        data[K_SUGGESTION], data[K_TYPED] = result.suggestion, result.email
        message = text.DID_YOU_MEAN_TYPO.format(
            suggestion=esc(result.suggestion), typed=esc(result.email)
        )
        await _say(update, context, message, _confirm_keyboard(text.NO_KEEP_TYPED, "start:keep"))
        return CONFIRM
    problem = text.EMAIL_PROBLEMS[result.problem or "empty"]
    if result.suggestion:
        data[K_SUGGESTION] = result.suggestion
        data.pop(K_TYPED, None)
        message = problem + " " + text.DID_YOU_MEAN.format(suggestion=esc(result.suggestion))
        await _say(update, context, message, _confirm_keyboard(text.NO_RETYPE, "start:retype"))
        return CONFIRM
    await _say(update, context, problem + " " + text.TRY_AGAIN)
    return EMAIL


async def confirm_button(update: Update, context: BotContext) -> object:
    await _ack(update)
    data = _data(context)
    choice = update.callback_query.data if update.callback_query else None
    chosen = data.pop(K_SUGGESTION, None) if choice == "start:yes" else None
    typed = data.pop(K_TYPED, None)
    if choice == "start:keep":
        chosen = typed
    if not chosen:
        await _say(update, context, text.RETYPE)
        return EMAIL
    return await _send_code(update, context, chosen)


# --- sending the code -----------------------------------------------------------------------
async def _send_code(update: Update, context: BotContext, email: str) -> object:
    services = context.services
    data = _data(context)
    if not domain_allowed(email, services.settings.email_domains):
        await _say(update, context, _domain_message(services.settings.email_domains))
        return EMAIL
    outcome = await Identity(services).request_code(_user_id(update), email)
    if outcome.status == "sent":
        data[K_EMAIL] = email
        message = text.CODE_SENT.format(email=esc(email), minutes=MINUTES)
        await _say(update, context, message, code_keyboard())
        if outcome.delivery is not None and update.effective_chat is not None:
            # Answered first; the code goes out now, so the reply's timing tells nothing.
            context.application.create_task(
                _deliver(outcome, email, update.effective_chat.id, context),
                update=update,
                name=f"{BACKGROUND_TASK}:code:{_user_id(update)}",
            )
        return CODE
    refusal = _refusal_message(outcome, email, context)
    if outcome.status not in ("rejected", "domain_refused") and data.get(K_EMAIL):
        resume = text.RESUME_CODE.format(email=esc(data[K_EMAIL]))
        await _say(update, context, refusal + "\n\n" + resume, code_keyboard())
        return CODE
    await _say(update, context, refusal)
    return EMAIL


async def _deliver(outcome: SendOutcome, email: str, chat_id: int, context: BotContext) -> None:
    """The background send (see Identity.request_code): only a failure is worth a message."""
    assert outcome.delivery is not None
    result = await outcome.delivery()
    if result.status == "sent":
        return
    message = _refusal_message(result, email, context)
    await context.bot.send_message(chat_id, message, reply_markup=code_keyboard())


def _domain_message(domains: frozenset[str]) -> str:
    listed = sorted(f"<b>@{esc(d)}</b>" for d in domains)
    joined = ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else listed[0]
    return text.DOMAIN_NOT_ALLOWED.format(domains=joined)


def _refusal_message(outcome: SendOutcome, email: str, context: BotContext) -> str:
    now = context.services.clock.now()
    when = text.when(outcome.retry_at, now) if outcome.retry_at else "in a few minutes"
    if outcome.status == "too_soon":
        return text.SEND_TOO_SOON.format(when=when)
    if outcome.status == "hourly_cap":
        return text.SEND_HOURLY_CAP.format(when=when, cap=HOURLY_CAP)
    if outcome.status == "email_cap":
        return text.SEND_EMAIL_CAP.format(when=when, cap=EMAIL_HOURLY_CAP)
    if outcome.status == "provider_busy":
        return text.SEND_PROVIDER_BUSY.format(when=when)
    if outcome.status == "rejected":
        return text.SEND_REJECTED.format(email=esc(email))
    if outcome.status == "domain_refused":
        return _domain_message(context.services.settings.email_domains)
    return text.SEND_UNAVAILABLE


async def code_button(update: Update, context: BotContext) -> object:
    await _ack(update)
    choice = update.callback_query.data if update.callback_query else None
    if choice == "start:resend":
        email = _data(context).get(K_EMAIL)
        if email:
            return await _send_code(update, context, email)
    await _say(update, context, text.RETYPE)
    return EMAIL


# --- typing the code ------------------------------------------------------------------------
def _looks_like_code(raw: str) -> bool:
    return bool(_CODE_CHARS.fullmatch(raw.strip())) and any(c.isdigit() for c in raw)


async def got_text_for_code(update: Update, context: BotContext) -> object:
    raw = strip_control_chars(
        (update.effective_message.text if update.effective_message else "") or ""
    )
    if _looks_like_code(raw):
        return await _check(update, context, raw)
    if "@" in raw or "." in raw:
        return await _take_email(update, context, raw)
    codes = _SIX_DIGITS.findall(raw)
    if len(codes) == 1:  # "my code is 123456"
        return await _check(update, context, codes[0])
    await _say(update, context, text.CODE_FORMAT)
    return CODE


async def _check(update: Update, context: BotContext, raw: str) -> object:
    code = re.sub(r"[\s-]", "", raw)
    if len(code) != CODE_LENGTH:
        await _say(update, context, text.CODE_FORMAT)
        return CODE
    data = _data(context)
    email = data.get(K_EMAIL)
    if not email:
        await _say(update, context, text.ASK_EMAIL)
        return EMAIL
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:  # pragma: no cover
        return END
    outcome = await Identity(context.services).check_code(
        user.id, chat.id, email, code, user.first_name
    )
    if outcome.status == "linked":
        await _linked(update, context, outcome)
        return END
    if outcome.status == "wrong":
        message = text.CODE_WRONG.format(left=text.tries_left(outcome.attempts_left))
    elif outcome.status == "unavailable":
        message = text.CHECK_UNAVAILABLE
    else:
        next_step = text.NEXT_STEP_RESEND
        if outcome.next_send_at is not None:
            now = context.services.clock.now()
            next_step = text.NEXT_STEP_WAIT.format(when=text.when(outcome.next_send_at, now))
        if outcome.status == "expired":
            message = text.CODE_EXPIRED.format(minutes=MINUTES, next_step=next_step)
        elif outcome.status == "locked":
            message = text.CODE_LOCKED.format(max=MAX_ATTEMPTS, next_step=next_step)
        elif outcome.status == "superseded":
            message = text.CODE_SUPERSEDED.format(next_step=next_step)
        else:
            message = text.NO_CODE_WAITING.format(next_step=next_step)
    await _say(update, context, message.strip(), code_keyboard())
    return CODE


async def _linked(update: Update, context: BotContext, outcome: CheckOutcome) -> None:
    link = outcome.link
    if link is None:  # pragma: no cover - "linked" always carries the link
        return
    for old in link.moved_from:
        try:
            await context.bot.send_message(
                old.chat_id, text.LINKED_ELSEWHERE.format(masked=esc(mask_email(link.email)))
            )
        except TelegramError as exc:
            log.info("Could not tell the previous chat about a re-link (%s)", type(exc).__name__)
        await commands.reset_chat(context.application, old.chat_id)
    # Tutors see their commands in the menu straight away, not at the next start-up.
    if update.effective_chat is not None:
        await commands.sync_chat_for_email(
            context.application, update.effective_chat.id, link.email
        )
    linked = text.LINKED.format(email=esc(link.email))
    if link.previous_email:
        linked += "\n" + text.LINKED_SWITCHED.format(old=esc(link.previous_email))
    lines = [linked]
    invite = _data(context).get(K_INVITE)
    _clear(context)
    if invite:
        lines.append(_join_text(await _join(context, link.email, invite)))
    student = await current_student(update, context)
    name = esc(student.first_name if student and student.first_name else "there")
    if student is not None and student.is_tutor:
        lines.append(text.TUTOR_WELCOME)
    lines.append(text.FIRST_MENU.format(name=name))
    await _say(update, context, "\n\n".join(lines), main_menu_keyboard())


async def _join(context: BotContext, email: str, invite: str) -> JoinResult:
    """Join the cohort; exercises it queued for a late joiner go out at once."""
    result = await join_cohort(context.services, email, invite)
    if result.queued:
        outbox.kick(context.application)
    return result


def _join_text(result: JoinResult) -> str:
    cohort = result.cohort
    if result.status == "invalid" or cohort is None:
        return text.INVITE_INVALID
    names = {"cohort": esc(cohort.name), "tutor": esc(cohort.tutor_email)}
    if result.status == "own_cohort":
        return text.INVITE_OWN_COHORT.format(**names)
    if result.status == "already_member":
        return text.ALREADY_MEMBER.format(**names)
    return text.JOINED.format(**names)


# --- leaving --------------------------------------------------------------------------------
async def cancel(update: Update, context: BotContext) -> object:
    await _ack(update)
    await Identity(context.services).cancel(_user_id(update))
    _clear(context)
    await _say(update, context, text.CANCELLED)
    return END


async def stale_button(update: Update, context: BotContext) -> None:
    """A /start button from a conversation that has already ended."""
    await _ack(update)
    await _say(update, context, text.STALE_BUTTON)


# --- /whoami, /unlink -----------------------------------------------------------------------
async def whoami(update: Update, context: BotContext) -> None:
    services = context.services
    link = await services.links.active_for_user(_user_id(update))
    if link is None:
        await _say(update, context, text.WHOAMI_NOT_LINKED)
        return
    role = await services.staff.role_of(link.email)
    since = format_date(link.verified_at.astimezone(services.clock.tz).date())
    lines = [
        text.WHOAMI.format(
            email=esc(link.email), role=text.ROLE_NAMES.get(role, role or "student"), since=since
        )
    ]
    cohorts = await services.cohorts.memberships(link.email)
    if cohorts:
        listed = ", ".join(f"<b>{esc(c.name)}</b> (tutor: {esc(c.tutor_email)})" for c in cohorts)
        lines.append(text.WHOAMI_COHORTS.format(cohorts=listed))
    await _say(update, context, "\n".join(lines))


async def unlink(update: Update, context: BotContext) -> None:
    link = await context.services.links.active_for_user(_user_id(update))
    if link is None:
        await _say(update, context, text.UNLINK_NOT_LINKED)
        return
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.UNLINK_YES, callback_data="unlink:yes"),
                InlineKeyboardButton(text.UNLINK_NO, callback_data="unlink:no"),
            ]
        ]
    )
    await _say(update, context, text.UNLINK_CONFIRM.format(email=esc(link.email)), markup)


async def unlink_button(update: Update, context: BotContext) -> None:
    await _ack(update)
    services = context.services
    user_id = _user_id(update)
    link = await services.links.active_for_user(user_id)
    if link is None:
        await _say(update, context, text.UNLINK_NOT_LINKED)
        return
    query = update.callback_query
    if query is not None and query.data == "unlink:yes":
        await services.links.unlink(user_id)
        await commands.reset_chat(context.application, link.chat_id)
        log.info("Telegram user %s unlinked", user_id)
        await _say(update, context, text.UNLINKED)
    else:
        await _say(update, context, text.UNLINK_KEPT.format(email=esc(link.email)))


def build_conversation() -> ConversationHandler[Any]:
    plain_text = filters.TEXT & ~filters.COMMAND
    # "Send a new code" / "Use a different email" work from any step (an older message's
    # buttons stay meaningful while the conversation is open).
    resend = CallbackQueryHandler(code_button, pattern=r"^start:(resend|email)$")
    cancel_handlers = [
        CommandHandler("cancel", cancel),
        CallbackQueryHandler(cancel, pattern=r"^start:cancel$"),
    ]
    with warnings.catch_warnings():
        # Buttons in a per-chat conversation: PTB warns in case per-message tracking was meant.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("start", start, filters=PRIVATE),
                # A pasted invite link joins as a tapped one would (handlers/invite_links.py).
                MessageHandler(filters.UpdateType.MESSAGE & PRIVATE & PASTED_INVITE, start),
            ],
            states={
                EMAIL: [resend, MessageHandler(plain_text, got_text_for_email)],
                CONFIRM: [
                    CallbackQueryHandler(confirm_button, pattern=r"^start:(yes|keep|retype)$"),
                    resend,
                    MessageHandler(plain_text, got_text_for_email),
                ],
                CODE: [resend, MessageHandler(plain_text, got_text_for_code)],
            },
            fallbacks=[CommandHandler("start", start, filters=PRIVATE), *cancel_handlers],
            name="start",
            persistent=True,
            allow_reentry=True,
        )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(build_conversation())
    app.add_handler(CallbackQueryHandler(stale_button, pattern=r"^start:"))
    app.add_handler(CommandHandler("whoami", whoami, filters=PRIVATE))
    app.add_handler(CommandHandler("unlink", unlink, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(unlink_button, pattern=r"^unlink:(yes|no)$"))
