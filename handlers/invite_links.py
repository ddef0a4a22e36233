"""A cohort invite link pasted as text: `https://t.me/<bot>?start=join_<code>`.

Why it is recognised at all: a student who copies the link from an email or a slide and
pastes it into the chat (instead of tapping it) should join exactly as the deep link would,
not be told their text meant nothing. Telegram turns a tapped link into `/start join_<code>`;
this turns the pasted one into the same code. Only links to this bot count.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import filters

from storage.cohorts import INVITE_PREFIX

_CODE = rf"{INVITE_PREFIX}([A-Za-z0-9_-]{{1,59}})"
_LINK = re.compile(
    rf"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/([A-Za-z0-9_]{{3,64}})"
    rf"/?\?start={_CODE}(?![A-Za-z0-9_-])"
    rf"|tg://resolve\?domain=([A-Za-z0-9_]{{3,64}})&start={_CODE}(?![A-Za-z0-9_-])",
    re.IGNORECASE,
)


def invite_code_in(text: str, bot_username: str | None) -> str | None:
    """The invite code of the first link to this bot in `text`, else None."""
    for match in _LINK.finditer(text):
        username, code = (match[1], match[2]) if match[1] else (match[3], match[4])
        if bot_username is None or username.casefold() == bot_username.casefold():
            return code
    return None


class PastedInvite(filters.MessageFilter):
    """Matches a text message carrying an invite link to this bot."""

    def __init__(self) -> None:
        super().__init__(name="PastedInvite")

    def filter(self, message: Any) -> bool:
        return pasted_invite_in(message) is not None


PASTED_INVITE = PastedInvite()


def pasted_invite(update: Update) -> str | None:
    """The invite code in this update's text, if it is a pasted invite link."""
    return pasted_invite_in(update.message) if update.message is not None else None


def pasted_invite_in(message: Any) -> str | None:
    text = getattr(message, "text", None)
    if not text:
        return None
    try:
        username = message.get_bot().username
    except RuntimeError:  # a message built without a bot (a form's own signal)
        return None
    return invite_code_in(text, username)
