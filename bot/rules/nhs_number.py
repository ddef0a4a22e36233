"""NHS numbers: reading what a student types, checking it, and keeping it fictional.

An NHS number is ten digits shown as 3-3-4 (``943 476 5919``); the tenth digit is a
Modulus 11 check digit, which catches almost every single mistyped or swapped digit.
This is a training tool, so students must never type a real patient's number into it:
by default only valid numbers in the 999 range (the range set aside for test data, not
allocated to patients) are accepted, and the bot offers to generate one. An operator setting
(``allow_any_valid=True``) relaxes that to any valid number for sites that need it.

Every rejection says why in plain words, because explaining the check is part of
teaching the job.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "TEST_RANGE_PREFIX",
    "NhsCheck",
    "Normalised",
    "check_digit",
    "format_nhs",
    "generate_test_number",
    "in_test_range",
    "is_valid",
    "normalise",
    "validate_for_training",
]

TEST_RANGE_PREFIX: Final = "999"
_WEIGHTS: Final = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# Characters people put between digit groups; removed silently.
_SEPARATORS: Final = frozenset(" \t\n\r\u00a0\u2007\u202f-\u2010\u2011\u2012\u2013\u2014\u2212")

Reason = Literal[
    "empty",
    "stray_characters",
    "wrong_length",
    "never_issued",
    "check_digit_mismatch",
    "outside_test_range",
]


@dataclass(frozen=True, slots=True)
class Normalised:
    """What was typed, reduced to its digits.

    ``stray`` lists, in order and without repeats, any characters that are neither
    digits nor the spaces and dashes people use to group them (a letter O for a zero,
    a full stop...). They are reported rather than quietly dropped, because guessing
    could turn a typo into somebody else's number.
    """

    digits: str
    stray: tuple[str, ...] = ()


def normalise(text: str) -> Normalised:
    """Strip spaces and dashes; keep digits (any script, e.g. full-width); report the rest."""
    digits: list[str] = []
    stray: list[str] = []
    for ch in text or "":
        if "0" <= ch <= "9":
            digits.append(ch)
        elif ch in _SEPARATORS:
            continue
        elif ch.isdecimal():
            digits.append(str(unicodedata.decimal(ch)))
        elif ch not in stray:
            stray.append(ch)
    return Normalised("".join(digits), tuple(stray))


def check_digit(nine_digits: str) -> int | None:
    """The Modulus 11 check digit for the first nine digits, or ``None`` if none exists.

    Weights 10 down to 2, sum, remainder mod 11, check = 11 - remainder; 11 means 0 and
    10 means no valid number can start with these nine digits (so none is ever issued).
    """
    if len(nine_digits) != 9 or not nine_digits.isascii() or not nine_digits.isdigit():
        raise ValueError(f"check_digit needs exactly nine digits, got {nine_digits!r}")
    total = sum(int(d) * w for d, w in zip(nine_digits, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid(number: str) -> bool:
    """True when ``number`` (spaces and dashes allowed) is ten digits passing Modulus 11."""
    norm = normalise(number)
    if norm.stray or len(norm.digits) != 10:
        return False
    expected = check_digit(norm.digits[:9])
    return expected is not None and expected == int(norm.digits[9])


def in_test_range(number: str) -> bool:
    """True for numbers beginning 999, the range set aside for test data."""
    return normalise(number).digits.startswith(TEST_RANGE_PREFIX)


def format_nhs(number: str) -> str:
    """Show a number the way the NHS does, 3-3-4: ``9434765919`` -> ``943 476 5919``."""
    norm = normalise(number)
    d = norm.digits
    if norm.stray or len(d) != 10:
        raise ValueError(f"An NHS number has 10 digits; can't format {number!r}.")
    return f"{d[:3]} {d[3:6]} {d[6:]}"


def _group(digits: str) -> str:
    """3-3-4 grouping for any number of digits, to echo back what was typed."""
    return " ".join(p for p in (digits[:3], digits[3:6], digits[6:]) if p)


@dataclass(frozen=True, slots=True)
class NhsCheck:
    """The outcome of checking a typed NHS number for use in training.

    ``number`` is the bare ten digits when ``ok``; ``formatted`` is the 3-3-4 form.
    ``reason`` is a short machine-readable code and ``message`` the plain-English
    explanation to show the student (``None`` when ``ok``).
    """

    ok: bool
    number: str | None = None
    formatted: str | None = None
    reason: Reason | None = None
    message: str | None = None


_TEST_RANGE_WHY: Final = (
    "This is a training tool, so we only use made-up NHS numbers from the test range "
    "(numbers beginning 999, the range set aside for test data). A number you "
    "invent outside that range could belong to a real person, and real patient details "
    "must never be typed into a practice system."
)


def validate_for_training(text: str, allow_any_valid: bool = False) -> NhsCheck:
    """Check a typed NHS number and say, kindly and exactly, what is wrong with it.

    The checks run in the order a person would fix them: stray characters, length,
    the check digit, then (unless ``allow_any_valid``) the test-range policy.
    """
    norm = normalise(text)
    digits = norm.digits
    if norm.stray:
        shown = " ".join(repr(c) for c in norm.stray)
        hint = ""
        if any(c in "oOlIi" for c in norm.stray):
            hint = " (Is there a letter O or l where a 0 or 1 should be?)"
        return NhsCheck(
            False,
            reason="stray_characters",
            message=(
                f"An NHS number is only digits, but I found {shown} in what you typed.{hint} "
                "Type the 10 digits; spaces or dashes between groups are fine, "
                "e.g. 999 123 1234."
            ),
        )
    if not digits:
        return NhsCheck(
            False,
            reason="empty",
            message="I didn't see an NHS number. Type the 10 digits, e.g. 999 123 1234.",
        )
    if len(digits) != 10:
        more_or_fewer = "too few" if len(digits) < 10 else "too many"
        return NhsCheck(
            False,
            reason="wrong_length",
            message=(
                f"An NHS number has exactly 10 digits, but I counted {len(digits)} "
                f"({_group(digits)}): {more_or_fewer}. Check you haven't missed or "
                "repeated a digit."
            ),
        )
    formatted = f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    expected = check_digit(digits[:9])
    if expected is None:
        return NhsCheck(
            False,
            formatted=formatted,
            reason="never_issued",
            message=(
                f"{formatted} can't be an NHS number: for the first nine digits "
                f"{_group(digits[:9])} the Modulus 11 check works out as 10, and numbers "
                "like that are never issued. One of the first nine digits is probably "
                "mistyped."
            ),
        )
    if expected != int(digits[9]):
        return NhsCheck(
            False,
            formatted=formatted,
            reason="check_digit_mismatch",
            message=(
                f"{formatted} fails the Modulus 11 check: with these first nine digits the "
                f"last digit would have to be {expected}, not {digits[9]}. That usually "
                "means a mistyped or swapped digit: check it against the patient's record."
            ),
        )
    if not allow_any_valid and not digits.startswith(TEST_RANGE_PREFIX):
        return NhsCheck(
            False,
            formatted=formatted,
            reason="outside_test_range",
            message=(
                f"{formatted} is a valid NHS number, but it isn't in the test range. "
                f"{_TEST_RANGE_WHY} Use a number beginning 999, or ask me to generate one."
            ),
        )
    return NhsCheck(True, number=digits, formatted=formatted)


def generate_test_number(rng: random.Random | None = None) -> str:
    """A random valid NHS number in the 999 test range, as ten bare digits.

    About one in eleven nine-digit stems has no valid check digit (the check works out
    as 10); those are skipped and another stem is drawn. Pass ``rng`` for repeatable
    numbers in tests and scenario exercises.
    """
    r = rng or random.SystemRandom()
    while True:
        stem = TEST_RANGE_PREFIX + f"{r.randrange(1_000_000):06d}"
        check = check_digit(stem)
        if check is not None:
            return stem + str(check)
