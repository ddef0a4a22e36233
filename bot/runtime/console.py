"""`python -m bot console`: the real bot in a terminal, with no token and no network.

The same Application and handlers as production, on the embedded database (or DATABASE_URL)
and the offline Bot API. Lines typed are sent as a Telegram user; the bot's messages are
printed as plain text, each with a number (`bot: #12`), and inline buttons numbered.

What a phone does that a terminal can't, the console does with a few `:` commands (listed
in `BANNER` and the README): press a button on an earlier message (`:press 12 2`), vote in a
quiz poll (`:vote 2`), send one message of several lines (`:multi` ... `:end`), upload a
file, and move the clock (`:time 08:29`). A bare number or a button's words press a button
only on the latest message in the chat, so `1` never opens something from an old list.
`@name: text` speaks as another simulated user, so a tutor and students can be tried in one
session. Files the bot sends are saved under the data folder.

The clock ticks: `--today 2025-03-03` pins the date (at the current time of day) and time
runs on from there, so a reminder set for a few minutes ahead arrives. `:time HH:MM` moves
it, and then every scheduled job (reminders, deliveries, form expiry) looks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sys
import zlib
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.rules.clock import TickingClock
from bot.rules.dates import format_date
from bot.runtime.app import build_application
from bot.runtime.database import open_database
from bot.runtime.offline import ChatUser, OfflineBotAPI, SentMessage
from bot.runtime.wiring import build_services

DEFAULT_USER = "you"
_SPEAKER = re.compile(r"^@([A-Za-z][\w.-]{0,31}):\s?(.*)$")
_COMMAND = re.compile(r"^:([a-z]+)(?:\s+(.*))?$")
_TIME = re.compile(r"^(?:(\d{4}-\d{2}-\d{2})\s*)?(?:(\d{1,2}):(\d{2}))?$")

BANNER = """\
ptl-bot console: the real bot, offline. Fictional patients only.
Type as you would in Telegram (try /start). Each bot message has a number (bot: #5).
  :press 5 2        press button 2 (or its words: :press 5 Save) on message #5;
                    on the latest message just type the number or the words
  :vote 2           answer 2 in the latest quiz poll (:vote 7 2: in poll #7)
  :multi ... :end   the lines between are sent as one message (a quiz question)
  :upload FILE      send a file (:upload FILE caption)
  :time 08:29       move the clock (it ticks); :time 2025-03-10 08:29 another day;
                    :time alone shows it. Scheduled jobs (reminders) run at once
  @kim: /start      speak as someone else (a tutor, a second student)
  :help             this list. Invite links: paste them as they are. Ctrl-D quits.
"""


def user_id_for(name: str) -> int:
    """Stable, distinct Telegram-like ids per console name."""
    return 100_000 + zlib.crc32(name.encode()) % 900_000


def describe_clock(clock: Any) -> str:
    now = clock.now()
    ticking = "ticking" if isinstance(clock, TickingClock) else "stopped"
    return f"{now:%a} {format_date(now.date())} {now:%H:%M} ({clock.tz.key}, {ticking})"


class Console:
    def __init__(self, api: OfflineBotAPI, out: TextIO, files_dir: Path, clock: Any = None) -> None:
        self.api, self.out, self.files_dir, self.clock = api, out, files_dir, clock
        self.users: dict[str, ChatUser] = {}
        self.names: dict[int, str] = {}
        self.numbers: dict[int, int] = {}  # id(message) -> its number
        self.messages: dict[int, SentMessage] = {}  # number -> message
        self.latest: dict[int, SentMessage] = {}  # chat -> the last message shown there
        self.collecting: tuple[str, list[str]] | None = None  # :multi (speaker, lines)
        api.listeners.append(self.show)

    def say(self, line: str) -> None:
        print(f"({line})", file=self.out, flush=True)

    # -- what the bot sends ---------------------------------------------------------------
    def number(self, message: SentMessage) -> int:
        if id(message) not in self.numbers:
            n = len(self.numbers) + 1
            self.numbers[id(message)] = n
            self.messages[n] = message
        return self.numbers[id(message)]

    def show(self, message: SentMessage) -> None:
        n = self.number(message)
        self.latest[message.chat_id] = message
        name = self.names.get(message.chat_id, str(message.chat_id))
        who = "" if list(self.names.values()) == [DEFAULT_USER] else f" → {name}"
        label = "bot (edited)" if message.edited else "bot"
        lines = [f"{label}{who}: #{n}"]
        if message.kind == "text":
            lines.append(message.text)
        elif message.kind in ("document", "photo"):
            path = self._save(message)
            lines.append(f"[{message.kind} saved to {path}]")
            if message.text:
                lines.append(message.text)
        elif message.kind == "poll" and message.poll:
            lines.append(f"[quiz] {message.poll['question']}")
            options = message.poll["options"]
            lines.extend(f"  ({i}) {o['text']}" for i, o in enumerate(options, start=1))
            lines.append(f"  (answer with :vote N, or :vote {n} N)")
        if message.buttons:
            numbered = [
                f"[{i}] {b.text}"
                for i, b in enumerate((b for row in message.buttons for b in row), start=1)
            ]
            lines.append("  ".join(numbered))
        print("\n".join(lines) + "\n", file=self.out, flush=True)

    def _save(self, message: SentMessage) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        name = Path(message.file_name or f"{message.kind}-{message.message_id}").name
        path = self.files_dir / name
        path.write_bytes(message.file_bytes or b"")
        return path

    def user(self, app: object, name: str) -> ChatUser:
        if name not in self.users:
            uid = user_id_for(name)
            self.users[name] = ChatUser(app, self.api, uid, first_name=name.capitalize())  # type: ignore[arg-type]
            self.names[uid] = name
        return self.users[name]

    # -- what the person types ------------------------------------------------------------
    async def handle(self, app: Any, line: str) -> None:
        raw = line.rstrip("\n")
        if self.collecting is not None:
            speaker, lines = self.collecting
            if raw.strip() != ":end":
                lines.append(raw)
                return
            self.collecting = None
            text = "\n".join(lines).strip("\n")
            if not text.strip():
                self.say("nothing to send")
                return
            await self.user(app, speaker).send(text)
            return
        name, text = DEFAULT_USER, raw
        match = _SPEAKER.match(text)
        if match:
            name, text = match.group(1).lower(), match.group(2)
        stripped = text.strip()
        if not stripped:
            return
        user = self.user(app, name)
        command = _COMMAND.match(stripped)
        if command:
            await self.console_command(app, user, name, command[1], command[2] or "")
            return
        target = self.latest.get(user.chat_id)
        if target is not None and target.buttons:
            labels = target.button_labels
            if stripped.isdigit() and 1 <= int(stripped) <= len(labels):
                await user.press(labels[int(stripped) - 1], message=target)
                return
            label = _matching_label(stripped, labels)
            if label is not None:
                await user.press(label, message=target)
                return
        await user.send(text)

    async def console_command(
        self, app: Any, user: ChatUser, name: str, command: str, rest: str
    ) -> None:
        if command == "help":
            print(BANNER, file=self.out, flush=True)
        elif command == "press":
            await self.press(user, rest)
        elif command == "vote":
            await self.vote(user, rest)
        elif command == "multi":
            self.collecting = (name, [])
            self.say("multi-line message: type the lines, then :end on a line of its own")
        elif command == "end":
            self.say("not in a multi-line message: :multi starts one")
        elif command == "upload":
            await self.upload(user, rest)
        elif command == "time":
            await self.set_time(app, rest)
        else:
            self.say(f"no console command :{command}; :help lists them")

    async def press(self, user: ChatUser, rest: str) -> None:
        parts = rest.split(maxsplit=1)
        message = self._message(user, parts[0] if parts else "")
        if message is None or len(parts) < 2:
            self.say("press a button with :press MESSAGE BUTTON, e.g. :press 5 2 or :press 5 Save")
            return
        labels = message.button_labels
        wanted = parts[1].strip()
        if wanted.isdigit() and 1 <= int(wanted) <= len(labels):
            label: str | None = labels[int(wanted) - 1]
        else:
            label = _matching_label(wanted, labels) if not wanted.startswith("/") else None
        if label is None:
            shown = ", ".join(f"[{i}] {b}" for i, b in enumerate(labels, start=1)) or "none"
            self.say(
                f"message #{self.number(message)} has no button {wanted!r}; its buttons: {shown}"
            )
            return
        await user.press(label, message=message)

    async def vote(self, user: ChatUser, rest: str) -> None:
        parts = rest.split()
        if len(parts) == 2:
            poll = self._message(user, parts[0])
        else:
            poll = next((m for m in reversed(user.history) if m.kind == "poll"), None)
        if not parts or not parts[-1].isdigit() or poll is None or poll.poll is None:
            self.say("vote with :vote N (the latest quiz poll) or :vote POLL N")
            return
        options = poll.poll["options"]
        choice = int(parts[-1])
        if not 1 <= choice <= len(options):
            self.say(f"poll #{self.number(poll)} has answers 1 to {len(options)}")
            return
        await user.answer_poll(poll.poll["id"], [choice - 1])
        self.say(
            f"you answered ({choice}) {options[choice - 1]['text']} in poll #{self.number(poll)}"
        )

    async def upload(self, user: ChatUser, rest: str) -> None:
        parts = rest.split(maxsplit=1)
        if not parts:
            self.say("upload a file with :upload FILE [caption]")
            return
        path = Path(parts[0])
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError:
            self.say(f"cannot read file: {path}")
            return
        await user.send_document(path.name, content, caption=parts[1] if len(parts) > 1 else None)

    async def set_time(self, app: Any, rest: str) -> None:
        clock = self.clock
        match = _TIME.match(rest.strip())
        if clock is None or match is None or not hasattr(clock, "set"):
            self.say("move the clock with :time HH:MM or :time YYYY-MM-DD HH:MM")
            return
        if not rest.strip():
            self.say(f"clock: {describe_clock(clock)}")
            return
        now = clock.now()
        try:
            day = dt.date.fromisoformat(match[1]) if match[1] else now.date()
            at = dt.time(int(match[2]), int(match[3])) if match[2] else now.time()
        except ValueError:
            self.say("that is not a date and time: :time 2025-03-10 08:29")
            return
        clock.set(dt.datetime.combine(day, at.replace(second=0, microsecond=0)))
        self.say(f"clock: {describe_clock(clock)}")
        await run_jobs_now(app)

    def _message(self, user: ChatUser, number: str) -> SentMessage | None:
        raw = number.lstrip("#")
        message = self.messages.get(int(raw)) if raw.isdigit() else None
        if message is None or message.chat_id != user.chat_id:
            return None
        return message


async def run_jobs_now(app: Any) -> None:
    """The clock moved: let every scheduled job (reminders, deliveries, form expiry) look now
    instead of at its next tick."""
    if app.job_queue is None:
        return
    for job in app.job_queue.jobs():
        with contextlib.suppress(Exception):  # a job's own errors are logged by PTB
            await job.run(app)


def _bare(label: str) -> str:
    """A label without its emoji and arrows, for typing: "✅ Save" -> "save"."""
    return re.sub(r"^\W+|\W+$", "", label).casefold()


def _matching_label(typed: str, labels: list[str]) -> str | None:
    """The button a typed line means: its exact label, or the label without emoji and case
    ("save" presses "✅ Save") when exactly one button matches that way."""
    if typed in labels:
        return typed
    if typed.startswith("/"):  # a command is always sent, never taken for a button
        return None
    loose = [label for label in labels if _bare(label) and _bare(label) == _bare(typed)]
    return loose[0] if len(loose) == 1 else None


def console_clock(today: str | None, timezone: str) -> TickingClock:
    """A ticking clock: from now, or from `today` at the current time of day."""
    clock = TickingClock(tz=timezone)
    if today:
        clock.set(dt.datetime.combine(dt.date.fromisoformat(today), clock.now().time()))
    return clock


async def run_console(
    settings: Settings,
    *,
    today: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if settings.verifier is None:
        settings = settings.model_copy(update={"verifier": "console"})
    try:
        clock = console_clock(today, settings.timezone)
    except ValueError:
        print("--today expects a date like 2025-10-12", file=sys.stderr)
        return 2
    db = await open_database(settings)
    try:
        services = build_services(settings, db, clock)
        services.extra["console_out"] = stdout
        api = OfflineBotAPI()
        app = build_application(services, request=api, rate_limit=False)
        console = Console(api, stdout, settings.ptl_data_dir / "console-files", clock)
        print(BANNER + f"Clock: {describe_clock(clock)}.\n", file=stdout, flush=True)
        async with app:
            if app.post_init is not None:  # run_polling would call it; so do we
                await app.post_init(app)
            await app.start()
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break
                await console.handle(app, line)
            await app.stop()
    finally:
        await db.close()
    print("Bye.", file=stdout, flush=True)
    return 0
