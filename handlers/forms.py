"""One form owns the chat at a time: the machinery every step-by-step form shares.

Every multi-step form (/add, /update, /broadcast, /find, the reminder time in /settings,
/cohort new, /book...) is a subclass of `Form`, and so follows the same rules:

- **One owner.** Typed text goes to the one open form and nowhere else: a form's step
  handlers only match while its draft is open, and opening another form first puts the
  open one on hold. Nothing typed for one feature can land in another.
- **A command puts the open form on hold** (any command the bot knows, a button from
  elsewhere, a pasted invite link), with a "⏸ on hold" message carrying ▶️ Carry on and
  ✖ Cancel. A form with nothing worth keeping (a search not yet typed) just closes quietly.
  A command the bot does not know leaves the form open (routing.py says so).
- **/cancel ends whichever form is open**; with none open it discards the forms on hold.
- **Text while a form is on hold** is not used: routing.py says the form is on hold and
  offers Carry on / Cancel (the same buttons).
- One prompt message at a time: a tapped button edits it in place, typed text gets a fresh
  prompt at the bottom of the chat and the previous prompt loses its buttons, and a button on
  an older message is politely refused (its callback is still answered). "Step n of m",
  Back and Cancel on every step; a form left alone expires after `form_idle_minutes` with a
  message, even across a restart.

How a new form plugs in (see handlers/find.py for the smallest complete one):

1. Subclass `Form`; set `name` (conversation name and `user_data` key), `prefix` (its
   buttons' callback data, `<prefix>:<action>`; unique), `command` ("/book"),
   `own_commands` (commands that re-enter it rather than hold it), `own_callbacks` (other
   callback prefixes that belong to it, e.g. the menu button that opens it), `states` (its
   step names) and `audience` ("student" or "tutor": who may carry it on).
2. Implement `entry_points()` (wrap each callback with `self.entry(...)` and a guard from
   handlers/guards.py), `fresh()`, `render(step)` (prompt and keyboard), `on_text(step)`,
   `on_button(step, action)`, and optionally `on_other(step)` (a document, a photo),
   `where(draft)` (for hold notices) and `worth_keeping(draft)`.
3. In the feature module's `register(app)`, call `YourForm().register(app)`. That is all:
   hold, carry on, cancel, expiry, old-button refusals and the routing of stray text come
   from here. tests/test_chat_routing.py drives every (open form, other command) pair, so
   add the form there too.

How the state is kept: PTB's persistent `ConversationHandler` holds the current step (so a
restart resumes at the same step) and `user_data[form.name]` holds the draft (answers, the
trail of steps for Back, the prompt message id, timestamps). Both are written to Postgres
after every update (bot/runtime/app.py, storage/persistence.py). Every form lives in handler
group 0, so PTB itself gives each update to the first handler that claims it; the hold
check runs before, in group -10.

Why a pseudo-update ends a conversation: PTB has no public call to end a conversation from
outside (its own `conversation_timeout` uses in-memory jobs that die with the process). So
every state of a form starts with a handler that only matches a `FormSignal` (an `Update`
subclass no real update can be); the expiry sweep and the hold logic pass one straight to
the form's `ConversationHandler.handle_update`, which ends the conversation through its
normal path, including writing the change to persistence. Real updates never see it and no
other handler is involved.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import warnings
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ClassVar

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import common
from bot.messages import forms as text
from bot.rules.fields import has_control_chars, is_idle, strip_control_chars
from bot.services.container import BotContext
from bot.services.patient_form import Choice
from handlers.command_menu import handled_commands
from handlers.guards import current_student, student_only, tutor_only
from handlers.invite_links import pasted_invite
from storage.form_drafts import idle_drafts
from storage.persistence import PostgresPersistence

log = logging.getLogger(__name__)

END = ConversationHandler.END
RESUME = "resume"
"""The state of the "carry on or start again?" question (not a step: never on the trail)."""
SWEEP_INTERVAL_SECONDS = 60
FORMS_KEY = "forms"
"""bot_data key: the forms registered in this Application, for the sweep and fallbacks."""
KNOWN_COMMANDS_KEY = "known_commands"
"""bot_data key: every command some handler answers (filled at start-up)."""
CARRY_ON = "form:go:"
"""Callback data prefix of ▶️ Carry on (on a hold notice): `form:go:<form name>`."""
DROP = "form:x:"
"""Callback data prefix of ✖ Cancel on a hold notice: `form:x:<form name>`."""

Draft = dict[str, Any]
Keyboard = InlineKeyboardMarkup
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, object]]


class FormSignal(Update):
    """A pseudo-update that only a form's own signal handler matches: it ends the form's
    conversation for one chat and user from outside (expiry sweep, hold)."""

    __slots__ = ("form",)

    def __init__(self, chat_id: int, user_id: int, form: str) -> None:
        message = Message(
            message_id=0,
            date=dt.datetime.now(dt.UTC),
            chat=Chat(chat_id, Chat.PRIVATE),
            from_user=User(user_id, "form", is_bot=False),
        )
        super().__init__(update_id=0, message=message)
        with self._unfrozen():
            self.form = form


class _SignalHandler(BaseHandler[Update, BotContext, object]):
    def __init__(self, form: str) -> None:
        super().__init__(self._end, block=True)
        self.form = form

    def check_update(self, update: object) -> bool:
        return isinstance(update, FormSignal) and update.form == self.form

    @staticmethod
    async def _end(update: Update, context: BotContext) -> int:
        return END


class _FormOpen(filters.UpdateFilter):
    """Matches updates from a user whose draft for this form is open. A conversation state
    left behind without its draft (which should not happen) then matches nothing, so it can
    never swallow text meant for something else."""

    def __init__(self, form: Form) -> None:
        super().__init__(name=f"FormOpen({form.name})")
        self.form = form

    def filter(self, update: Update) -> bool:
        user = update.effective_user
        app = self.form.app
        if user is None or app is None:
            return False
        draft = (app.user_data.get(user.id) or {}).get(self.form.name)
        return isinstance(draft, dict) and bool(draft.get("open"))


def known_commands(app: Application[Any, Any, Any, Any, Any, Any] | None) -> set[str]:
    """Every command some handler answers (cached once the bot has started)."""
    if app is None:
        return set()
    cached = app.bot_data.get(KNOWN_COMMANDS_KEY)
    if isinstance(cached, set):
        return cached
    return handled_commands(app)


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def is_command(update: Update) -> str | None:
    """The command name (no slash, no @bot) if the update is a command message."""
    message = update.message
    if message is None or not message.text or not message.entities:
        return None
    first = message.entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    return message.text[1 : first.length].split("@", 1)[0].lower()


class Form:
    """A step-by-step form. Subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    """Conversation name and `user_data` key."""
    prefix: ClassVar[str]
    """Callback data prefix of this form's buttons (`<prefix>:<action>`)."""
    command: ClassVar[str]
    """The command that opens it, e.g. "/add" (for messages)."""
    own_commands: ClassVar[frozenset[str]]
    own_callbacks: ClassVar[tuple[str, ...]] = ()
    """Callback data prefixes (besides `prefix:`) that belong to this form, e.g. its entry."""
    states: ClassVar[tuple[str, ...]]
    """Every state the conversation can be in (besides RESUME)."""
    cancelled: ClassVar[str] = common.CANCELLED
    """What Cancel (or /cancel) says."""
    audience: ClassVar[str] = "student"
    """Who may carry the form on from a hold notice: "student" (any linked user) or "tutor"."""

    def __init__(self) -> None:
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.conversation: ConversationHandler[BotContext] | None = None

    # -- hooks for subclasses -------------------------------------------------------------
    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        raise NotImplementedError

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        """The prompt for `step` (HTML) and its keyboard."""
        raise NotImplementedError

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """Typed text at `step`: return the next state (see `go`, `show`)."""
        raise NotImplementedError

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """A tapped button at `step` (`action` is the callback data after `prefix:`)."""
        raise NotImplementedError

    async def on_other(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """Anything but text at `step` (a photo, a sticker, a file): by default, say that
        only typed text is read here and show the step again."""
        return await self.show(step, draft, update, context, error=text.TEXT_ONLY)

    def where(self, draft: Draft) -> str:
        """Where the student is, for hold/resume/expiry notices ("Step 4 of 9 · Pathway")."""
        return ""

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        """Start the form from its first step (a new draft)."""
        raise NotImplementedError

    # -- the draft ------------------------------------------------------------------------
    def draft(self, context: BotContext) -> Draft | None:
        data = context.user_data
        found = data.get(self.name) if data is not None else None
        return found if isinstance(found, dict) else None

    def new_draft(self, context: BotContext, chat_id: int, first: str, **extra: Any) -> Draft:
        now = context.services.clock.now()
        draft: Draft = {
            "open": True,
            "chat": chat_id,
            "started": now,
            "touched": now,
            "trail": [first],
            "prompt": None,
            **extra,
        }
        assert context.user_data is not None
        context.user_data[self.name] = draft
        return draft

    def drop(self, context: BotContext) -> None:
        if context.user_data is not None:
            context.user_data.pop(self.name, None)

    async def close_quietly(self, update: Update, context: BotContext) -> None:
        """Drop any draft of this form and take the buttons off its prompt (an entry point
        that answers at once, such as `/find smith`, leaves no form behind)."""
        draft = self.draft(context)
        if draft is None:
            return
        self.drop(context)
        chat = update.effective_chat
        if draft.get("prompt") and chat is not None:
            await self.strip_buttons(context, chat.id, int(draft["prompt"]))

    def idle_limit(self, context: BotContext) -> dt.timedelta:
        return dt.timedelta(minutes=context.services.settings.form_idle_minutes)

    def is_stale(self, draft: Draft, context: BotContext) -> bool:
        touched = draft.get("touched")
        return is_idle(
            touched if isinstance(touched, dt.datetime) else None,
            context.services.clock.now(),
            self.idle_limit(context),
        )

    # -- navigation -----------------------------------------------------------------------
    @staticmethod
    def current(draft: Draft) -> str:
        trail = draft.get("trail") or []
        return str(trail[-1]) if trail else ""

    async def go(
        self, step: str, draft: Draft, update: Update, context: BotContext, *, error: str = ""
    ) -> str:
        """Move forward to `step` and show it."""
        trail: list[str] = draft.setdefault("trail", [])
        if not trail or trail[-1] != step:
            trail.append(step)
        return await self.show(step, draft, update, context, error=error)

    async def back_to(self, step: str, draft: Draft, update: Update, context: BotContext) -> str:
        """Return to an earlier `step` on the trail (dropping what came after it)."""
        trail: list[str] = draft.setdefault("trail", [])
        while len(trail) > 1 and trail[-1] != step:
            trail.pop()
        if not trail or trail[-1] != step:
            trail[:] = [step]
        return await self.show(step, draft, update, context)

    async def show(
        self, step: str, draft: Draft, update: Update, context: BotContext, *, error: str = ""
    ) -> str:
        """Show `step` as the current prompt, with `error` (HTML) above it if given.

        A tapped button on the current prompt edits it in place; anything else sends a new
        prompt and takes the buttons off the previous one, so only one message in the chat
        ever has live form buttons."""
        if step == RESUME:
            body, keyboard = self.resume_prompt(draft, context)
        else:
            body, keyboard = await self.render(step, draft, update, context)
        if error:
            body = f"{error}\n\n{body}"
        await self.present(body, keyboard, draft, update, context)
        return step

    async def present(
        self,
        body: str,
        keyboard: Keyboard | None,
        draft: Draft,
        update: Update,
        context: BotContext,
    ) -> None:
        query = update.callback_query
        chat = draft.get("chat") or (update.effective_chat.id if update.effective_chat else 0)
        chat_id = int(chat)
        prompt = draft.get("prompt")
        if query is not None and query.message is not None and query.message.message_id == prompt:
            try:
                await query.edit_message_text(body, reply_markup=keyboard)
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                log.info("form prompt could not be edited (%s); sending a new one", exc)
        if prompt:
            await self.strip_buttons(context, chat_id, int(prompt))
        sent = await context.bot.send_message(chat_id, body, reply_markup=keyboard)
        draft["prompt"] = sent.message_id

    @staticmethod
    async def strip_buttons(context: Any, chat_id: int, message_id: int) -> None:
        """Take the buttons off an old prompt; harmless if it is gone or already bare."""
        with contextlib.suppress(TelegramError):
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)

    async def finish(
        self,
        body: str,
        draft: Draft,
        update: Update,
        context: BotContext,
        keyboard: Keyboard | None = None,
    ) -> int:
        """End the form with a closing message in place of the prompt (or a new message),
        with `keyboard` if the closing message offers what to do next."""
        self.drop(context)
        await self.present(body, keyboard, draft, update, context)
        return END

    # -- keyboards ------------------------------------------------------------------------
    def data(self, action: str) -> str:
        return f"{self.prefix}:{action}"

    def keyboard(
        self,
        choices: Sequence[Sequence[Choice]] = (),
        *,
        back: bool = True,
        skip: bool = False,
        cancel: bool = True,
        extra: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> Keyboard:
        """Choice rows (`c:<value>`), extra rows of (label, action), then Skip, Back, Cancel."""
        rows: list[list[InlineKeyboardButton]] = [
            [button(c.label, self.data(f"c:{c.value}")) for c in row] for row in choices
        ]
        rows.extend([button(label, self.data(action)) for label, action in row] for row in extra)
        if skip:
            rows.append([button(common.SKIP, self.data("skip"))])
        nav = []
        if back:
            nav.append(button(common.BACK, self.data("back")))
        if cancel:
            nav.append(button(common.CANCEL, self.data("cancel")))
        if nav:
            rows.append(nav)
        return InlineKeyboardMarkup(rows)

    # -- dispatch (what the ConversationHandler calls) -------------------------------------
    def state_id(self, result: object) -> object:
        """PTB state for a step name. States are stored as small integers: the persistence
        layer round-trips numbers and dicts, and an int state can never be mistaken for
        JSON text."""
        if isinstance(result, str):
            return (*self.states, RESUME).index(result)
        return result

    def entry(self, callback: Callback) -> Callback:
        """Wrap an entry-point callback so the step name it returns becomes a PTB state."""

        async def wrapped(update: Update, context: BotContext) -> object:
            if context.args:  # "/find Sm\x00ith": a command's words, cleaned by the shared rule
                context.args = strip_control_chars(" ".join(context.args)).split()
            return self.state_id(await callback(update, context))

        return wrapped

    def _step_handlers(self, step: str) -> list[BaseHandler[Update, BotContext, Any]]:
        open_ = _FormOpen(self)

        async def on_text(update: Update, context: BotContext) -> object:
            return self.state_id(await self._dispatch_text(step, update, context))

        async def on_button(update: Update, context: BotContext) -> object:
            return self.state_id(await self._dispatch_button(step, update, context))

        async def on_other(update: Update, context: BotContext) -> object:
            return self.state_id(await self._dispatch_other(step, update, context))

        return [
            _SignalHandler(self.name),
            CallbackQueryHandler(on_button, pattern=rf"^{self.prefix}:"),
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & open_, on_text
            ),
            MessageHandler(
                filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.COMMAND & open_, on_other
            ),
        ]

    async def _guard(self, update: Update, context: BotContext) -> Draft | int:
        """The open, unexpired draft, or END after telling the student why there is none."""
        draft = self.draft(context)
        if draft is None or not draft.get("open"):
            if update.callback_query is not None:
                await update.callback_query.answer(
                    text.FORM_CLOSED_BUTTON.format(command=self.command)
                )
            return END
        if self.is_stale(draft, context):
            await self.expire(context, draft)
            self.drop(context)
            if update.callback_query is not None:
                await update.callback_query.answer()
            return END
        if self.audience == "tutor" and not await self._still_a_tutor(update, context):
            if draft.get("prompt") and update.effective_chat is not None:
                await self.strip_buttons(context, update.effective_chat.id, int(draft["prompt"]))
            self.drop(context)
            if update.callback_query is not None:
                await update.callback_query.answer()
            if update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, common.NOT_TUTOR)
            return END
        draft["touched"] = context.services.clock.now()
        return draft

    @staticmethod
    async def _still_a_tutor(update: Update, context: BotContext) -> bool:
        """A tutor form checks the role at every step: staff removed (or an account unlinked)
        mid-form can go no further."""
        student = await current_student(update, context)
        return student is not None and student.is_tutor

    async def _dispatch_text(self, step: str, update: Update, context: BotContext) -> object:
        guarded = await self._guard(update, context)
        if not isinstance(guarded, dict):
            return guarded
        assert update.message is not None
        raw = update.message.text or ""
        if step == RESUME:
            return await self.show(RESUME, guarded, update, context, error=text.USE_BUTTONS)
        if has_control_chars(raw, newlines=True):
            # One place for every form's every typed step: a NUL or another hidden control
            # character is refused (Postgres JSON can't store it), and nothing moves on.
            return await self.show(step, guarded, update, context, error=text.CONTROL_CHARS)
        return await self.on_text(step, raw, guarded, update, context)

    async def _dispatch_other(self, step: str, update: Update, context: BotContext) -> object:
        guarded = await self._guard(update, context)
        if not isinstance(guarded, dict):
            return guarded
        if step == RESUME:
            return await self.show(RESUME, guarded, update, context, error=text.USE_BUTTONS)
        return await self.on_other(step, guarded, update, context)

    async def _dispatch_button(self, step: str, update: Update, context: BotContext) -> object:
        query = update.callback_query
        assert query is not None
        guarded = await self._guard(update, context)
        if not isinstance(guarded, dict):
            return guarded
        draft = guarded
        if query.message is None or query.message.message_id != draft.get("prompt"):
            await query.answer(text.OLD_BUTTON)
            return None
        await query.answer()
        action = (query.data or "").partition(":")[2]
        if action == "cancel":
            return await self.finish(self.cancelled, draft, update, context)
        if step == RESUME:
            if action == "resume":
                draft["open"] = True
                return await self.show(self.current(draft), draft, update, context)
            if action == "restart":
                return await self.fresh(update, context)
            return None
        if action == "back":
            trail: list[str] = draft.setdefault("trail", [])
            if len(trail) > 1:
                trail.pop()
            return await self.show(self.current(draft), draft, update, context)
        return await self.on_button(step, action, draft, update, context)

    async def cancel_command(self, update: Update, context: BotContext) -> int:
        draft = self.draft(context) or {}
        self.drop(context)
        chat = update.effective_chat
        if draft.get("prompt") and chat is not None:
            await self.strip_buttons(context, chat.id, int(draft["prompt"]))
        if chat is not None:
            await context.bot.send_message(chat.id, self.cancelled)
        return END

    # -- entry with an unfinished draft -------------------------------------------------------
    async def offer_resume(self, draft: Draft, update: Update, context: BotContext) -> str:
        """Ask whether to carry on with an unfinished (open or on-hold) draft."""
        draft["open"] = True
        draft["touched"] = context.services.clock.now()
        if update.effective_chat is not None:
            draft["chat"] = update.effective_chat.id
        return await self.show(RESUME, draft, update, context)

    def resume_prompt(self, draft: Draft, context: BotContext) -> tuple[str, Keyboard]:
        touched = draft.get("touched")
        minutes = 0
        if isinstance(touched, dt.datetime):
            minutes = int((context.services.clock.now() - touched).total_seconds() // 60)
        ago = text.JUST_NOW if minutes < 1 else text.MINUTES_AGO.format(n=minutes)
        body = text.RESUME_TITLE.format(command=self.command, where=self.where(draft), ago=ago)
        keyboard = InlineKeyboardMarkup(
            [
                [button(text.RESUME, self.data("resume"))],
                [button(text.RESTART, self.data("restart"))],
                [button(common.CANCEL, self.data("cancel"))],
            ]
        )
        return body, keyboard

    def resumable(self, context: BotContext) -> Draft | None:
        """An unfinished draft worth offering back (not expired), else None."""
        draft = self.draft(context)
        if draft is None:
            return None
        if self.is_stale(draft, context):
            self.drop(context)
            return None
        return draft

    # -- closing from outside: expiry and hold ------------------------------------------------
    async def end_conversation(self, chat_id: int, user_id: int) -> None:
        """End this form's conversation for (chat, user) through the ConversationHandler."""
        app, conversation = self.app, self.conversation
        if app is None or conversation is None:
            return
        signal = FormSignal(chat_id, user_id, self.name)
        check = conversation.check_update(signal)
        if check is None or check is False:
            return
        context = BotContext.from_update(signal, app)
        await conversation.handle_update(signal, app, check, context)

    async def expire(self, context: Any, draft: Draft) -> None:
        """Tell the student their form expired and take the buttons off its prompt."""
        chat_id = int(draft.get("chat") or 0)
        if not chat_id:
            return
        if draft.get("prompt"):
            await self.strip_buttons(context, chat_id, int(draft["prompt"]))
        minutes = context.services.settings.form_idle_minutes
        with contextlib.suppress(Forbidden, BadRequest):
            await context.bot.send_message(
                chat_id, text.EXPIRED.format(command=self.command, minutes=minutes)
            )

    async def hold(self, update: Update, context: BotContext) -> None:
        """Put an open form on hold because the student started something else."""
        draft = self.draft(context)
        user = update.effective_user
        if draft is None or not draft.get("open") or user is None:
            return
        draft["open"] = False
        chat_id = int(draft.get("chat") or user.id)
        await self.end_conversation(chat_id, user.id)
        if draft.get("prompt"):
            await self.strip_buttons(context, chat_id, int(draft["prompt"]))
        if not self.worth_keeping(draft):
            self.drop(context)  # nothing answered yet: nothing to hold, nothing to say
            return
        # Held in this order (a clock may stand still in tests and the console).
        others = [f.draft(context) or {} for f in _forms(context.application) if f is not self]
        draft["held"] = 1 + max((int(d.get("held") or 0) for d in others), default=0)
        await context.bot.send_message(
            chat_id,
            text.ON_HOLD.format(command=self.command, where=self.where(draft)),
            reply_markup=self.held_keyboard(),
        )

    def held_keyboard(self, *, named: bool = False) -> Keyboard:
        """▶️ Carry on and ✖ Cancel for a form on hold (`named`: say which form)."""
        go = text.CARRY_ON_NAMED.format(command=self.command) if named else text.RESUME
        drop = text.CANCEL_NAMED.format(command=self.command) if named else common.CANCEL
        return InlineKeyboardMarkup(
            [[button(go, CARRY_ON + self.name), button(drop, DROP + self.name)]]
        )

    def on_hold(self, update: Update, context: BotContext) -> Draft | None:
        """This form's unexpired draft if the student has one and no step is waiting for
        their text (on hold, or left without a conversation step), else None."""
        draft = self.resumable(context)
        if draft is None or not self.worth_keeping(draft):
            return None
        chat, user = update.effective_chat, update.effective_user
        waiting = chat is not None and user is not None and self.at_a_step(chat.id, user.id)
        return None if draft.get("open") and waiting else draft

    def at_a_step(self, chat_id: int, user_id: int) -> bool:
        """Is this form's conversation at a step for (chat, user)? Asked through PTB: every
        step (and only a step) has a handler for this form's signal."""
        if self.conversation is None:
            return False
        check = self.conversation.check_update(FormSignal(chat_id, user_id, self.name))
        return check is not None and check is not False

    # -- carrying on from a hold notice, or cancelling a held form -----------------------------
    async def _carry_on(self, update: Update, context: BotContext, student: Any) -> object:
        query = update.callback_query
        assert query is not None
        draft = self.resumable(context)
        if draft is None or (draft.get("open") and not self.worth_keeping(draft)):
            await query.answer(text.FORM_CLOSED_BUTTON.format(command=self.command))
            if query.message is not None:
                with contextlib.suppress(TelegramError):
                    await query.edit_message_reply_markup(reply_markup=None)
            return END
        await query.answer()
        chat = update.effective_chat
        old = draft.get("prompt")
        if query.message is not None:
            if old and old != query.message.message_id and chat is not None:
                await self.strip_buttons(context, chat.id, int(old))
            draft["prompt"] = query.message.message_id  # the notice becomes the prompt
        draft["open"] = True
        draft.pop("held", None)
        draft["touched"] = context.services.clock.now()
        if chat is not None:
            draft["chat"] = chat.id
        return await self.show(self.current(draft), draft, update, context)

    async def _drop_held(self, update: Update, context: BotContext) -> object:
        query = update.callback_query
        assert query is not None
        draft = self.draft(context)
        if draft is None:
            await query.answer(text.FORM_CLOSED_BUTTON.format(command=self.command))
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(reply_markup=None)
            return END
        await query.answer()
        chat = update.effective_chat
        prompt = draft.get("prompt")
        self.drop(context)
        pressed = query.message.message_id if query.message is not None else None
        if prompt and chat is not None and prompt != pressed:
            await self.strip_buttons(context, chat.id, int(prompt))
        # A notice about several held forms keeps the other forms' buttons.
        markup = query.message.reply_markup if isinstance(query.message, Message) else None
        rows = [
            [b for b in row if not str(b.callback_data or "").endswith(":" + self.name)]
            for row in (markup.inline_keyboard if markup is not None else ())
        ]
        rest = InlineKeyboardMarkup([row for row in rows if row]) if any(rows) else None
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(
                text.DISCARDED.format(command=self.command), reply_markup=rest
            )
        return END

    def worth_keeping(self, draft: Draft) -> bool:
        """Has the student entered anything this form should hold on to?"""
        return True

    def is_foreign(self, update: Update) -> bool:
        """Is this update the student starting something other than this form? Any command
        the bot knows (but this form's own and /cancel), any button that isn't this form's
        (but another form's ✖ Cancel on a hold notice), and a pasted invite link."""
        command = is_command(update)
        if command is not None:
            if command in self.own_commands or command == "cancel":
                return False
            return command in known_commands(self.app)
        query = update.callback_query
        if query is not None and query.data is not None:
            if query.data.startswith(DROP) or query.data == CARRY_ON + self.name:
                return False
            return not query.data.startswith((f"{self.prefix}:", *self.own_callbacks))
        return pasted_invite(update) is not None

    # -- registration ---------------------------------------------------------------------------
    def build(self) -> ConversationHandler[BotContext]:
        states: dict[object, list[BaseHandler[Update, BotContext, Any]]] = {
            self.state_id(state): self._step_handlers(state) for state in (*self.states, RESUME)
        }
        guard = tutor_only if self.audience == "tutor" else student_only
        shared: list[BaseHandler[Update, BotContext, Any]] = [
            CallbackQueryHandler(
                self.entry(guard(self._carry_on)), pattern=rf"^{CARRY_ON}{self.name}$"
            ),
            CallbackQueryHandler(self.entry(self._drop_held), pattern=rf"^{DROP}{self.name}$"),
        ]
        with warnings.catch_warnings():
            # per_message=False with CallbackQueryHandlers: PTB warns that buttons are not
            # tracked per message. We track the one live prompt ourselves (draft["prompt"]).
            warnings.simplefilter("ignore", PTBUserWarning)
            conversation: ConversationHandler[BotContext] = ConversationHandler(
                entry_points=[*shared, *self.entry_points()],
                states=states,
                fallbacks=[
                    CommandHandler("cancel", self.entry(self.cancel_command)),
                    _SignalHandler(self.name),
                ],
                name=self.name,
                persistent=True,
                allow_reentry=True,
            )
        self.conversation = conversation
        return conversation

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app = app
        app.add_handler(self.build())
        forms: list[Form] = app.bot_data.setdefault(FORMS_KEY, [])
        if not forms:
            _register_shared(app)
        forms.append(self)


# ---------------------------------------------------------------------------
# Shared handlers: hold on switching, /cancel outside a form, stale buttons, expiry sweep
# ---------------------------------------------------------------------------

HOLD_GROUP = -10
"""Runs before every feature's handlers, so a form is on hold before the other thing starts."""


def _forms(app: Application[Any, Any, Any, Any, Any, Any]) -> list[Form]:
    return list(app.bot_data.get(FORMS_KEY, []))


def open_form(update: Update, context: BotContext) -> tuple[Form, Draft] | None:
    """The form whose step is waiting for this chat's text, with its draft, if any."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    for form in _forms(context.application):
        draft = form.draft(context)
        if draft is not None and draft.get("open") and form.at_a_step(chat.id, user.id):
            return form, draft
    return None


def held_forms(update: Update, context: BotContext) -> list[tuple[Form, Draft]]:
    """Forms the student has put on hold (most recently held first)."""
    held = [
        (form, draft)
        for form in _forms(context.application)
        if (draft := form.on_hold(update, context)) is not None
    ]
    return sorted(held, key=lambda item: int(item[1].get("held") or 0), reverse=True)


async def _hold_on_switch(update: Update, context: BotContext) -> None:
    """A command or button from outside a form puts the open form on hold first."""
    if isinstance(update, FormSignal) or update.effective_user is None:
        return
    for form in _forms(context.application):
        if form.is_foreign(update):
            draft = form.draft(context)
            if draft is not None and draft.get("open"):
                await form.hold(update, context)


async def _cancel_outside(update: Update, context: BotContext) -> None:
    """/cancel that no form took: discard drafts on hold, or say there is nothing to cancel."""
    if context.user_data is None or update.effective_chat is None:
        return
    discarded = []
    for form in _forms(context.application):
        draft = form.draft(context)
        if draft is not None:
            form.drop(context)
            discarded.append(form.command)
    if discarded:
        body = "\n".join(text.DISCARDED.format(command=c) for c in discarded)
    else:
        body = text.NOTHING_TO_CANCEL
    await context.bot.send_message(update.effective_chat.id, body)


async def _closed_form_button(update: Update, context: BotContext) -> None:
    """A form button pressed after its form ended: answer it and take the buttons away."""
    query = update.callback_query
    assert query is not None
    prefix = (query.data or "").partition(":")[0]
    form = next((f for f in _forms(context.application) if f.prefix == prefix), None)
    command = form.command if form else "/menu"
    await query.answer(text.FORM_CLOSED_BUTTON.format(command=command))
    if query.message is not None:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)


async def sweep(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Expire every form left alone for too long: message the student, drop the draft and
    end the conversation. Runs at start-up (so forms abandoned before a restart are closed)
    and every minute. Returns how many forms it closed.

    Candidates come from the database (every replica's drafts, see storage/form_drafts.py);
    each is then re-checked and closed inside `PostgresPersistence.turn`, i.e. with that
    chat locked and its state freshly read, exactly as if it were an update: a student who
    touched the form on another replica a second ago is left alone."""
    services = app.bot_data["services"]
    forms = {form.name: form for form in _forms(app)}
    if not forms:
        return 0
    idle = dt.timedelta(minutes=services.settings.form_idle_minutes)
    persistence = app.persistence
    closed = 0
    if isinstance(persistence, PostgresPersistence):
        before = services.clock.now() - idle
        for found in await idle_drafts(services.db, list(forms), before):
            chat_id = found.chat_id or found.user_id
            signal = FormSignal(chat_id, found.user_id, found.form)
            async with persistence.turn(app, signal):
                if await _close_if_idle(app, forms[found.form], chat_id, found.user_id, idle):
                    closed += 1
                app.mark_data_for_update_persistence(user_ids=found.user_id)
                await app.update_persistence()
    else:  # no shared database (a test or tool without persistence): memory is the truth
        for user_id in list(app.user_data):
            for form in forms.values():
                draft = (app.user_data.get(user_id) or {}).get(form.name)
                chat_id = int(draft.get("chat") or user_id) if isinstance(draft, dict) else 0
                if chat_id and await _close_if_idle(app, form, chat_id, user_id, idle):
                    closed += 1
    if closed:
        log.info("closed %d idle form(s)", closed)
    return closed


async def _close_if_idle(
    app: Application[Any, Any, Any, Any, Any, Any],
    form: Form,
    chat_id: int,
    user_id: int,
    idle: dt.timedelta,
) -> bool:
    data = app.user_data.get(user_id)
    draft = data.get(form.name) if isinstance(data, dict) else None
    if not isinstance(draft, dict):
        return False
    touched = draft.get("touched")
    now = app.bot_data["services"].clock.now()
    if not is_idle(touched if isinstance(touched, dt.datetime) else None, now, idle):
        return False
    context = BotContext(app, chat_id=chat_id, user_id=user_id)
    try:
        await form.end_conversation(chat_id, user_id)
        await form.expire(context, draft)
    except TelegramError as exc:  # keep sweeping the others; retried next minute
        log.warning("could not close an expired form: %s", exc)
        return False
    assert context.user_data is not None
    context.user_data.pop(form.name, None)
    return True


async def _sweep_job(context: BotContext) -> None:
    await sweep(context.application)


async def _at_startup(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Added now, after every feature registered its handlers, so these come last in group 0:
    # a conversation that takes /cancel (or its own button) always gets it first.
    app.add_handler(CommandHandler("cancel", _cancel_outside))
    prefixes = "|".join(sorted(re.escape(form.prefix) for form in _forms(app)))
    app.add_handler(CallbackQueryHandler(_closed_form_button, pattern=rf"^({prefixes}):"))
    app.bot_data[KNOWN_COMMANDS_KEY] = handled_commands(app)
    await sweep(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _sweep_job, interval=SWEEP_INTERVAL_SECONDS, first=SWEEP_INTERVAL_SECONDS,
            name="forms:expire",
        )  # fmt: skip


def _register_shared(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from bot.hooks import add_startup_hook

    app.add_handler(TypeHandler(Update, _hold_on_switch), group=HOLD_GROUP)
    add_startup_hook(app, _at_startup)
