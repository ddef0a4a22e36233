"""Every message's text and caption reach the handlers without control characters.

Why here, once, rather than in each step: anything a person types can end up in Postgres
(a cohort name, a /find search, a broadcast title, a form answer kept in the conversation's
JSON state), and Postgres refuses U+0000 in text and JSON. Checking at every step is easy to
forget in the next one; cleaning the update before it is dispatched covers every text step,
present and future, with the one rule in `bot.rules.fields.strip_control_chars`. Entity
offsets (the /command at the start, say) are moved to match the cleaned text.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.rules.fields import strip_control_chars

_MESSAGE_KEYS = ("message", "edited_message")
_FIELDS = (("text", "entities"), ("caption", "caption_entities"))


def cleaned(update: Update) -> Update:
    """`update`, or an equal update whose texts and captions lost their control characters."""
    message = update.message or update.edited_message
    if message is None:
        return update
    if all(strip_control_chars(v) == v for v in (message.text, message.caption) if v):
        return update
    data = update.to_dict()
    for key in _MESSAGE_KEYS:
        raw = data.get(key)
        if not isinstance(raw, dict):
            continue
        for field, entities in _FIELDS:
            value = raw.get(field)
            if not isinstance(value, str):
                continue
            raw[field] = strip_control_chars(value)
            if raw.get(entities):
                raw[entities] = [_moved(e, value) for e in raw[entities]]
    return Update.de_json(data, update.get_bot())


def _moved(entity: dict[str, Any], original: str) -> dict[str, Any]:
    """An entity's offset and length (UTF-16 units, as Telegram counts) in the cleaned text."""
    start = _units(strip_control_chars(_prefix(original, entity["offset"])))
    end = _units(strip_control_chars(_prefix(original, entity["offset"] + entity["length"])))
    return {**entity, "offset": start, "length": end - start}


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, units: int) -> str:
    """The start of `text` that is `units` UTF-16 code units long."""
    count = 0
    for index, ch in enumerate(text):
        if count >= units:
            return text[:index]
        count += 2 if ord(ch) > 0xFFFF else 1
    return text
