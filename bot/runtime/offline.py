"""An offline Bot API: the real PTB Application talks to this instead of Telegram.

Why: Telegram is out of reach from development machines and CI, yet the bot must be driven
end to end through the real `Application` (handlers, conversations, persistence, job queue).
`OfflineBotAPI` is a `telegram.request.BaseRequest` that answers the Bot API methods the bot
uses with realistic results and Telegram's own error rules (message too long, malformed HTML,
"message is not modified", oversize callback data), records every call, and can be told to
answer 403/429/network errors for a chat. `ChatUser` sends updates the way a Telegram client
would, so tests (and the console mode) read like a chat: send text, press a button by label.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.services.container import BACKGROUND_TASK

BOT_ID = 7_000_000_001
BOT_USERNAME = "ptl_trainer_bot"
# Telegram's limits, counted as Telegram counts them: after entity parsing, in UTF-16 code
# units (an emoji outside the Basic Multilingual Plane counts twice).
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes of UTF-8
MAX_CALLBACK_ANSWER = 200
MAX_POLL_QUESTION = 300
MAX_POLL_OPTION = 100
MIN_POLL_OPTIONS, MAX_POLL_OPTIONS = 2, 12
MAX_POLL_EXPLANATION = 200
MAX_POLL_EXPLANATION_LINE_FEEDS = 2
MAX_COMMANDS, MAX_COMMAND_NAME, MAX_COMMAND_DESCRIPTION = 100, 32, 256
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})  # fmt: skip
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_BUTTON_ACTIONS = (
    "callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "web_app", "login_url", "callback_game",
    "pay",
)  # fmt: skip
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip


class TelegramHTMLError(ValueError):
    """Raised for text Telegram would refuse with "can't parse entities"."""


class _EntityChecker(HTMLParser):
    """Checks Telegram's HTML subset and yields the plain text a user would read."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            raise TelegramHTMLError(f'unsupported start tag "{tag}"')
        given = dict(attrs)
        # Tags Telegram accepts only with their attribute.
        if tag == "a" and not given.get("href"):
            raise TelegramHTMLError('a tag "a" needs an href')
        if tag == "span" and given.get("class") != "tg-spoiler":
            raise TelegramHTMLError('unsupported start tag "span"')
        if tag == "tg-emoji" and not given.get("emoji-id"):
            raise TelegramHTMLError('a tag "tg-emoji" needs an emoji-id')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramHTMLError(f'unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_BAD_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


def html_to_plain(text: str) -> str:
    """Validate `text` as Telegram HTML and return what the user sees."""
    if "<" in re.sub(r"<(/?)([a-zA-Z-]+)(\s[^<>]*)?>", "", text):
        raise TelegramHTMLError("unescaped '<' in text")
    if _BAD_AMP.search(text):
        raise TelegramHTMLError("unescaped '&' in text")
    checker = _EntityChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise TelegramHTMLError(f'unclosed tag "{checker.stack[-1]}"')
    return "".join(checker.parts)


def utf16_len(text: str) -> int:
    """Length as Telegram measures it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class SentMessage:
    """A message as the bot sent (or last edited) it, from the user's point of view."""

    chat_id: int
    message_id: int
    text: str = ""
    html: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    kind: str = "text"  # text | document | photo | poll
    file_name: str | None = None
    file_bytes: bytes | None = None
    poll: dict[str, Any] | None = None
    edited: bool = False
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def button_labels(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    def __str__(self) -> str:
        return self.text


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class _Failure:
    error: str  # forbidden | retry_after | network | bad_request
    times: int
    retry_after: int
    methods: frozenset[str] | None


class OfflineBotAPI(BaseRequest):
    """Answers Bot API calls in-process. Share one instance between the bot's two requests."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.by_chat: dict[int, list[SentMessage]] = defaultdict(list)
        self.answered_callbacks: set[str] = set()
        self.callback_answers: dict[str, str] = {}  # query id -> the answer's text
        # Query ids the chat driver delivered; None when updates come from elsewhere (a
        # subprocess test posting its own), so any id is taken once.
        self.delivered_callbacks: set[str] | None = set()
        self.commands: dict[str, Any] = {}
        self.uploads: dict[str, bytes] = {}  # files "sent by users", by file_id
        self.listeners: list[Callable[[SentMessage], None]] = []
        self._failures: dict[int | None, list[_Failure]] = defaultdict(list)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._update_ids = itertools.count(1)
        self._poll_ids = itertools.count(1)
        self._file_ids = itertools.count(1)

    # -- test controls -------------------------------------------------------------------
    def fail(
        self,
        chat_id: int | None,
        error: str = "forbidden",
        *,
        times: int = 1_000_000,
        retry_after: int = 1,
        methods: set[str] | None = None,
    ) -> None:
        """Make the next `times` calls to `chat_id` (None: any call, with a chat or not, such
        as setMyCommands) fail like Telegram would: forbidden (403), retry_after (429),
        bad_request (400), not_found (404: a Bot API server without the method) or network
        (502)."""
        self._failures[chat_id].append(
            _Failure(error, times, retry_after, frozenset(methods) if methods else None)
        )

    def clear_failures(self, chat_id: int | None = None) -> None:
        if chat_id is None:
            self._failures.clear()
        else:
            self._failures.pop(chat_id, None)

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids[chat_id])

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.by_chat.get(chat_id, []) if not m.deleted]

    # -- BaseRequest ---------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        if "/file/bot" in url:  # a file download (File.download_*): raw bytes, not JSON
            content = self.uploads.get(api_method)
            return (200, content) if content is not None else _error(404, "Not Found")
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files: dict[str, Any] = {}
        if request_data is not None and request_data.contains_files:
            files = dict(request_data.multipart_data)
        self.calls.append(ApiCall(api_method, params, time.monotonic()))
        if self.latency:
            await asyncio.sleep(self.latency)
        if api_method == "getUpdates":
            await asyncio.sleep(min(float(params.get("timeout", 0) or 0), 0.5))
            return _ok([])
        failure = self._take_failure(params.get("chat_id"), api_method)
        if failure is not None:
            return failure
        handler = getattr(self, f"_api_{api_method}", None)
        if handler is None:
            return _error(400, f"Bad Request: method {api_method} is not offered offline")
        try:
            return _ok(handler(params, files))
        except TelegramHTMLError as exc:
            return _error(400, f"Bad Request: can't parse entities: {exc}")
        except _ApiError as exc:
            return _error(exc.code, exc.description)

    def _take_failure(self, chat_id: Any, method: str) -> tuple[int, bytes] | None:
        keys: list[int | None] = [None]
        try:
            if chat_id is not None:
                keys.insert(0, int(chat_id))
        except (TypeError, ValueError):
            pass
        rule, rules = None, None
        for key in keys:
            rules = self._failures.get(key)
            rule = next((r for r in rules or [] if r.methods is None or method in r.methods), None)
            if rule is not None:
                break
        if rule is None or rules is None:
            return None
        rule.times -= 1
        if rule.times <= 0:
            rules.remove(rule)
        if rule.error == "forbidden":
            return _error(403, "Forbidden: bot was blocked by the user")
        if rule.error == "retry_after":
            return _error(
                429,
                f"Too Many Requests: retry after {rule.retry_after}",
                {"retry_after": rule.retry_after},
            )
        if rule.error == "bad_request":
            return _error(400, "Bad Request: chat not found")
        if rule.error == "not_found":
            return _error(404, "Not Found")
        return _error(502, "Bad Gateway")

    # -- Bot API methods ---------------------------------------------------------------
    def _api_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "PTL Trainer",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _store(self, message: SentMessage) -> dict[str, Any]:
        self.messages[(message.chat_id, message.message_id)] = message
        self.by_chat[message.chat_id].append(message)
        for listener in self.listeners:
            listener(message)
        return message.raw

    def _new_message(self, params: dict[str, Any], **extra: Any) -> SentMessage:
        chat_id = int(params["chat_id"])
        message_id = self.next_message_id(chat_id)
        raw: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": self._api_getMe({}, {}),
            **extra,
        }
        if params.get("reply_markup"):
            raw["reply_markup"] = _markup(params["reply_markup"])
        return SentMessage(
            chat_id=chat_id,
            message_id=message_id,
            buttons=_buttons(params.get("reply_markup")),
            raw=raw,
        )

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        plain = _render(text, params.get("parse_mode"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
        _check_markup(params.get("reply_markup"))
        message = self._new_message(params, text=plain)
        message.text, message.html = plain, text
        return self._store(message)

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        if message.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = str(params.get("text", ""))
        plain = _render(text, params.get("parse_mode"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
        _check_markup(params.get("reply_markup"), inline_only=True)
        buttons = _buttons(params.get("reply_markup"))
        if plain == message.text and buttons == message.buttons:
            raise _ApiError(400, NOT_MODIFIED)
        message.text, message.html, message.buttons, message.edited = plain, text, buttons, True
        message.raw["text"] = plain
        message.raw.pop("reply_markup", None)
        if params.get("reply_markup"):
            message.raw["reply_markup"] = _markup(params["reply_markup"])
        self._move_to_end(message)
        return message.raw

    def _api_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> dict[str, Any]:
        message = self._existing(params)
        _check_markup(params.get("reply_markup"), inline_only=True)
        buttons = _buttons(params.get("reply_markup"))
        if buttons == message.buttons:
            raise _ApiError(400, NOT_MODIFIED)
        message.buttons, message.edited = buttons, True
        message.raw.pop("reply_markup", None)
        if params.get("reply_markup"):
            message.raw["reply_markup"] = _markup(params["reply_markup"])
        return message.raw

    def _api_editMessageCaption(
        self, params: dict[str, Any], files: dict[str, Any]
    ) -> dict[str, Any]:
        message = self._existing(params)
        if message.kind not in ("document", "photo"):
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = str(params.get("caption", "") or "")
        plain = _render(caption, params.get("parse_mode")) if caption else ""
        if utf16_len(plain) > MAX_CAPTION:
            raise _ApiError(400, "Bad Request: message caption is too long")
        _check_markup(params.get("reply_markup"), inline_only=True)
        buttons = _buttons(params.get("reply_markup"))
        if plain == message.text and buttons == message.buttons:
            raise _ApiError(400, NOT_MODIFIED)
        message.text, message.html, message.buttons = plain, caption, buttons
        message.edited = True
        return message.raw

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        """Telegram takes one answer per query: a second one (or an id it never sent) is
        refused, so "answered exactly once" is something tests can see."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id in self.answered_callbacks:
            raise _ApiError(400, QUERY_INVALID)
        if self.delivered_callbacks is not None and query_id not in self.delivered_callbacks:
            raise _ApiError(400, QUERY_INVALID)
        answer = str(params.get("text", "") or "")
        if utf16_len(answer) > MAX_CALLBACK_ANSWER:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.answered_callbacks.add(query_id)
        self.callback_answers[query_id] = answer
        return True

    def _send_file(self, params: dict[str, Any], files: dict[str, Any], kind: str) -> Any:
        caption = str(params.get("caption", "") or "")
        plain = _render(caption, params.get("parse_mode")) if caption else ""
        if utf16_len(plain) > MAX_CAPTION:
            raise _ApiError(400, "Bad Request: message caption is too long")
        _check_markup(params.get("reply_markup"))
        file_name, content = None, None
        part = files.get(kind)
        if part is not None:
            file_name, content = part[0], part[1]
            if hasattr(content, "read"):
                content = content.read()
        elif isinstance(params.get(kind), str) and params[kind] in self.uploads:
            content = self.uploads[params[kind]]  # resending by file_id
        if not content:
            raise _ApiError(400, "Bad Request: file must be non-empty")
        if kind == "photo" and not bytes(content).startswith(_IMAGE_SIGNATURES):
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        file_id = f"offline-{kind}-{next(self._file_ids)}"
        extra: dict[str, Any]
        if kind == "document":
            extra = {"document": {"file_id": file_id, "file_unique_id": file_id,
                                  "file_name": file_name}}  # fmt: skip
        else:
            extra = {"photo": [{"file_id": file_id, "file_unique_id": file_id,
                                "width": 800, "height": 600}]}  # fmt: skip
        if plain:
            extra["caption"] = plain
        message = self._new_message(params, **extra)
        message.kind, message.text, message.html = kind, plain, caption
        message.file_name, message.file_bytes = file_name, content
        return self._store(message)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return self._send_file(params, files, "document")

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        return self._send_file(params, files, "photo")

    def _api_sendPoll(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        """Question, options and explanation are each parsed with their own parse mode (PTB
        fills in the Application's default for any left unset) and then measured."""
        question = _render(str(params.get("question", "")), params.get("question_parse_mode"))
        if not question.strip():
            raise _ApiError(400, "Bad Request: poll question must be non-empty")
        if utf16_len(question) > MAX_POLL_QUESTION:
            raise _ApiError(400, "Bad Request: poll question is too long")
        options = _json(params.get("options")) or []
        labels: list[str] = []
        for option in options:
            if isinstance(option, dict):
                label = _render(str(option.get("text", "")), option.get("text_parse_mode"))
            else:
                label = str(option)
            if not label.strip():
                raise _ApiError(400, "Bad Request: poll options must be non-empty")
            if utf16_len(label) > MAX_POLL_OPTION:
                raise _ApiError(400, "Bad Request: poll option is too long")
            labels.append(label)
        if not MIN_POLL_OPTIONS <= len(labels) <= MAX_POLL_OPTIONS:
            raise _ApiError(400, "Bad Request: poll must have 2-12 options")
        poll_type = params.get("type") or "regular"
        if poll_type not in ("regular", "quiz"):
            raise _ApiError(400, "Bad Request: Unsupported poll type specified")
        explanation = ""
        correct: list[int] = []
        if poll_type == "quiz":
            if params.get("correct_option_ids") is not None:
                correct = [int(i) for i in _json(params["correct_option_ids"])]
            elif params.get("correct_option_id") is not None:
                correct = [int(params["correct_option_id"])]
            if not correct or any(not 0 <= i < len(labels) for i in correct):
                raise _ApiError(400, "Bad Request: wrong correct option id specified")
            raw_explanation = str(params.get("explanation", "") or "")
            if raw_explanation:
                explanation = _render(raw_explanation, params.get("explanation_parse_mode"))
            if utf16_len(explanation) > MAX_POLL_EXPLANATION:
                raise _ApiError(400, "Bad Request: poll explanation is too long")
            if explanation.count("\n") > MAX_POLL_EXPLANATION_LINE_FEEDS:
                raise _ApiError(400, "Bad Request: poll explanation has too many line feeds")
        _check_markup(params.get("reply_markup"))
        poll_id = str(next(self._poll_ids))
        poll: dict[str, Any] = {
            "id": poll_id,
            "question": question,
            # Bot API 9.6: every option carries a persistent id (PTB 22.8 requires it).
            "options": [
                {"text": t, "voter_count": 0, "persistent_id": f"{poll_id}-{i}"}
                for i, t in enumerate(labels)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": _flag(params.get("is_anonymous"), default=True),
            "type": poll_type,
            "allows_multiple_answers": False,
            # Bot API 9.6/10.0 fields PTB 22.8 requires; a quiz answer cannot be changed.
            "allows_revoting": poll_type != "quiz",
            "members_only": False,
        }
        if correct:
            poll["correct_option_ids"] = correct
        if explanation:
            poll["explanation"] = explanation
        message = self._new_message(params, poll=poll)
        message.kind, message.text, message.poll = "poll", poll["question"], poll
        return self._store(message)

    def _api_getFile(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.uploads:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.uploads[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        if params.get("chat_id") in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if params.get("action") not in CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        commands = _json(params.get("commands")) or []
        if len(commands) > MAX_COMMANDS:
            raise _ApiError(400, "Bad Request: too many commands")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND_NAME.fullmatch(name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not description.strip() or utf16_len(description) > MAX_COMMAND_DESCRIPTION:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = json.dumps(_json(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands[scope] = params.get("commands")
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        scope = json.dumps(_json(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands.pop(scope, None)
        return True

    def _api_setChatMenuButton(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    def _api_setWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    def _api_close(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    # -- helpers -----------------------------------------------------------------------
    def _existing(self, params: dict[str, Any]) -> SentMessage:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def _move_to_end(self, message: SentMessage) -> None:
        """An edited message counts as the chat's latest output for the chat driver."""
        for listener in self.listeners:
            listener(message)


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def _error(
    code: int, description: str, parameters: dict[str, Any] | None = None
) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, json.dumps(body).encode()


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _render(text: str, parse_mode: Any) -> str:
    if parse_mode in (None, "", "none"):
        return text
    if str(parse_mode).lower() == "html":
        return html_to_plain(text)
    if str(parse_mode).lower() in ("markdown", "markdownv2"):
        raise TelegramHTMLError("ptl-bot sends HTML only; Markdown is not expected")
    raise _ApiError(400, "Bad Request: unsupported parse_mode")


def _json(value: Any) -> Any:
    """A parameter as sent: PTB posts lists and objects as JSON text."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


def _flag(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _markup(markup: Any) -> dict[str, Any]:
    return json.loads(markup) if isinstance(markup, str) else dict(markup)


def _buttons(markup: Any) -> list[list[Button]]:
    if not markup:
        return []
    data = _markup(markup)
    rows = data.get("inline_keyboard") or data.get("keyboard") or []
    return [
        [
            Button(
                text=b["text"] if isinstance(b, dict) else str(b),
                callback_data=b.get("callback_data") if isinstance(b, dict) else None,
                url=b.get("url") if isinstance(b, dict) else None,
            )
            for b in row
        ]
        for row in rows
    ]


def _check_markup(markup: Any, *, inline_only: bool = False) -> None:
    """Telegram's rules for keyboards: every inline button has a label and exactly one
    action, callback data is 1-64 bytes, a URL is a URL; edits take inline keyboards only."""
    if not markup:
        return
    data = _markup(markup)
    if "inline_keyboard" not in data:
        if inline_only:
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        return
    for row in data["inline_keyboard"]:
        for b in row:
            if not isinstance(b, dict) or not str(b.get("text", "")).strip():
                raise _ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            actions = [k for k in _BUTTON_ACTIONS if b.get(k) is not None]
            if len(actions) != 1:
                raise _ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in actions:
                size = len(str(b["callback_data"]).encode())
                if not 1 <= size <= MAX_CALLBACK_DATA:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in actions and not re.match(r"^(https?|tg)://\S+$", str(b["url"])):
                raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")


class ChatUser:
    """A simulated Telegram user in a private chat with the bot.

    Every method feeds one update through `Application.process_update` (exactly what polling
    or a webhook does) and returns the messages the bot sent or edited in this chat meanwhile.
    """

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        api: OfflineBotAPI,
        user_id: int,
        first_name: str = "Sam",
        *,
        last_name: str | None = None,
        username: str | None = None,
        strict_callbacks: bool = True,
        group_chat_id: int | None = None,
    ) -> None:
        self.app, self.api = app, api
        self.user_id = user_id
        # A private chat's id is the user's id; `group_chat_id` makes this user speak in a
        # group instead (a negative id, as Telegram's are).
        self.chat_id = group_chat_id if group_chat_id is not None else user_id
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                                     "language_code": "en"}  # fmt: skip
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        self.strict_callbacks = strict_callbacks

    # -- what the user sees ---------------------------------------------------------------
    @property
    def history(self) -> list[SentMessage]:
        return self.api.sent_to(self.chat_id)

    @property
    def last(self) -> SentMessage:
        history = self.history
        if not history:
            raise AssertionError("the bot has not sent anything to this chat")
        return history[-1]

    def last_with_buttons(self) -> SentMessage:
        for message in reversed(self.history):
            if message.buttons:
                return message
        raise AssertionError("no message with buttons in this chat")

    # -- what the user does ---------------------------------------------------------------
    async def send(self, text: str) -> list[SentMessage]:
        message = self._message_dict(text=text)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._feed({"message": message})

    async def send_document(
        self, file_name: str, content: bytes, *, caption: str | None = None
    ) -> list[SentMessage]:
        file_id = f"upload-{self.api.next_update_id()}"
        self.api.uploads[file_id] = content
        message = self._message_dict(
            document={
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": file_name,
                "file_size": len(content),
            },
        )
        if caption:
            message["caption"] = caption
        return await self._feed({"message": message})

    async def press(self, label: str, *, message: SentMessage | None = None) -> list[SentMessage]:
        """Press the inline button whose text is `label` (exact, then case-insensitive)."""
        target = message or self.last_with_buttons()
        button = _find_button(target, label)
        if button is None or button.callback_data is None:
            raise AssertionError(f"no button {label!r}; buttons are {target.button_labels}")
        return await self.press_data(button.callback_data, message=target)

    async def press_data(self, data: str, *, message: SentMessage) -> list[SentMessage]:
        query_id = f"cq{self.api.next_update_id()}"
        if self.api.delivered_callbacks is not None:
            self.api.delivered_callbacks.add(query_id)
        raw_message = dict(message.raw)
        raw_message["chat"] = self._chat()
        replies = await self._feed(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user,
                    "chat_instance": f"ci{self.chat_id}",
                    "data": data,
                    "message": raw_message,
                }
            }
        )
        if self.strict_callbacks and query_id not in self.api.answered_callbacks:
            raise AssertionError(f"callback query for {data!r} was not answered")
        return replies

    async def answer_poll(self, poll_id: str, option_ids: list[int]) -> list[SentMessage]:
        persistent = [f"{poll_id}-{i}" for i in option_ids]  # as _api_sendPoll numbers them
        answer = {
            "poll_id": poll_id,
            "user": self.user,
            "option_ids": option_ids,
            "option_persistent_ids": persistent,
        }
        return await self._feed({"poll_answer": answer})

    # -- plumbing -----------------------------------------------------------------------
    def _message_dict(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": self.api.next_message_id(self.chat_id),
            "date": int(time.time()),
            "chat": self._chat(),
            "from": self.user,
            **content,
        }

    def _chat(self) -> dict[str, Any]:
        if self.chat_id == self.user_id:
            return {"id": self.chat_id, "type": "private", "first_name": self.user["first_name"]}
        return {"id": self.chat_id, "type": "group", "title": "A group"}

    async def _feed(self, payload: dict[str, Any]) -> list[SentMessage]:
        seen: list[SentMessage] = []

        def listen(message: SentMessage) -> None:
            if message.chat_id == self.chat_id:
                seen.append(message)

        self.api.listeners.append(listen)
        try:
            update = Update.de_json({"update_id": self.api.next_update_id(), **payload},
                                    self.app.bot)  # fmt: skip
            await self.app.process_update(update)
            await settle()
        finally:
            self.api.listeners.remove(listen)
        unique: dict[int, SentMessage] = {}
        for m in seen:
            unique.setdefault(id(m), m)
        return list(unique.values())


async def settle() -> None:
    """Wait for the background work updates started (see BACKGROUND_TASK), so what a chat
    driver returns includes, say, the message saying a code could not be sent."""
    while pending := [
        t for t in asyncio.all_tasks() if t.get_name().startswith(BACKGROUND_TASK) and not t.done()
    ]:
        await asyncio.gather(*pending, return_exceptions=True)


def _find_button(message: SentMessage, label: str) -> Button | None:
    buttons = [b for row in message.buttons for b in row]
    for b in buttons:
        if b.text == label:
            return b
    lowered = label.casefold()
    for b in buttons:
        if b.text.casefold() == lowered:
            return b
    return None


def escape(text: str) -> str:
    """HTML-escape anything a user typed before it goes into a message."""
    return html.escape(text, quote=False)
