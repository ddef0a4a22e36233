"""Counting things in words: "1 student", "3 students", never "3 student(s)"."""

from __future__ import annotations

_IRREGULAR = {"patient": "patients", "person": "people", "this": "these", "is": "are"}


def plural(n: int, singular: str, many: str | None = None) -> str:
    """`n` and the noun that goes with it: plural(1, "question") -> "1 question"."""
    return f"{n:,} {noun(n, singular, many)}"


def noun(n: int, singular: str, many: str | None = None) -> str:
    """Just the noun for `n`: noun(2, "student") -> "students"."""
    if n == 1:
        return singular
    return many or _IRREGULAR.get(singular) or singular + "s"
