"""`python -m bot console`: the real bot in a terminal, with no token and no network.

The same Application and handlers as production, on the embedded database (or DATABASE_URL)
and the offline Bot API. Lines typed are sent as a Telegram user; the bot's messages are
printed as plain text with inline buttons numbered, and typing a number (or a button's exact
label) presses it. `@name: text` speaks as another simulated user, so a tutor and students can
be tried in one session. Files the bot sends are saved under the data folder.
"""

from __future__ import annotations

import asyncio
import re
import sys
import zlib
from datetime import date
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.rules.clock import Clock, FixedClock, SystemClock
from bot.runtime.app import build_application
from bot.runtime.database import open_database
from bot.runtime.offline import ChatUser, OfflineBotAPI, SentMessage
from bot.runtime.wiring import build_services

DEFAULT_USER = "you"
_SPEAKER = re.compile(r"^@([A-Za-z][\w.-]{0,31}):\s?(.*)$")
_UPLOAD = re.compile(r"^:upload\s+(\S+)(?:\s+(.*))?$")

BANNER = """\
ptl-bot console: the real bot, offline. Fictional patients only.
Type as you would in Telegram (try /start). Buttons are numbered: type the number or the label.
'@name: text' speaks as another user; ':upload FILE' sends a document; Ctrl-D quits.
"""


def user_id_for(name: str) -> int:
    """Stable, distinct Telegram-like ids per console name."""
    return 100_000 + zlib.crc32(name.encode()) % 900_000


class Console:
    def __init__(self, api: OfflineBotAPI, out: TextIO, files_dir: Path) -> None:
        self.api, self.out, self.files_dir = api, out, files_dir
        self.users: dict[str, ChatUser] = {}
        self.names: dict[int, str] = {}
        api.listeners.append(self.show)

    def show(self, message: SentMessage) -> None:
        name = self.names.get(message.chat_id, str(message.chat_id))
        who = "" if list(self.names.values()) == [DEFAULT_USER] else f" → {name}"
        label = "bot (edited)" if message.edited else "bot"
        lines = [f"{label}{who}:"]
        if message.kind == "text":
            lines.append(message.text)
        elif message.kind in ("document", "photo"):
            path = self._save(message)
            lines.append(f"[{message.kind} saved to {path}]")
            if message.text:
                lines.append(message.text)
        elif message.kind == "poll" and message.poll:
            lines.append(f"[quiz] {message.poll['question']}")
            lines.extend(f"  ({i}) {o['text']}" for i, o in enumerate(message.poll["options"]))
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

    async def handle(self, app: object, line: str) -> None:
        name, text = DEFAULT_USER, line.rstrip("\n")
        match = _SPEAKER.match(text)
        if match:
            name, text = match.group(1).lower(), match.group(2)
        if not text.strip():
            return
        user = self.user(app, name)
        upload = _UPLOAD.match(text.strip())
        if upload:
            path = Path(upload.group(1))
            try:
                content = await asyncio.to_thread(path.read_bytes)
            except OSError:
                print(f"(cannot read file: {path})", file=self.out, flush=True)
                return
            await user.send_document(path.name, content, caption=upload.group(2))
            return
        target = self._buttons_message(user)
        if target is not None:
            labels = target.button_labels
            stripped = text.strip()
            if stripped.isdigit() and 1 <= int(stripped) <= len(labels):
                await user.press(labels[int(stripped) - 1], message=target)
                return
            label = _matching_label(stripped, labels)
            if label is not None:
                await user.press(label, message=target)
                return
        await user.send(text)

    @staticmethod
    def _buttons_message(user: ChatUser) -> SentMessage | None:
        for message in reversed(user.history):
            if message.buttons:
                return message
        return None


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
    clock: Clock
    if today:
        try:
            clock = FixedClock(date.fromisoformat(today), settings.timezone)
        except ValueError:
            print("--today expects a date like 2025-10-12", file=sys.stderr)
            return 2
    else:
        clock = SystemClock(settings.timezone)
    db = await open_database(settings)
    try:
        services = build_services(settings, db, clock)
        services.extra["console_out"] = stdout
        api = OfflineBotAPI()
        app = build_application(services, request=api, rate_limit=False)
        console = Console(api, stdout, settings.ptl_data_dir / "console-files")
        print(BANNER, file=stdout, flush=True)
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
