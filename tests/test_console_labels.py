"""Typing a button's words in the console presses it, without its emoji or case."""

from __future__ import annotations

from bot.runtime.console import _matching_label

LABELS = ["✅ Save", "✏️ Edit a field", "« Back", "✖ Cancel", "Skip »", "18-week RTT"]


def test_exact_and_loose_labels_press_the_button() -> None:
    assert _matching_label("✅ Save", LABELS) == "✅ Save"
    assert _matching_label("save", LABELS) == "✅ Save"
    assert _matching_label("BACK", LABELS) == "« Back"
    assert _matching_label("skip", LABELS) == "Skip »"
    assert _matching_label("18-week rtt", LABELS) == "18-week RTT"


def test_other_text_is_sent_as_a_message() -> None:
    assert _matching_label("Ann Example", LABELS) is None
    assert _matching_label("/validate", ["✅ Validate"]) is None  # commands stay commands
    assert _matching_label("ok", ["✅ OK", "OK!"]) is None  # ambiguous: not guessed
