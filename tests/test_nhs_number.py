"""NHS numbers: normalising, Modulus 11, formatting, the test-range policy, generation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.nhs_number import (
    check_digit,
    format_nhs,
    generate_test_number,
    in_test_range,
    is_valid,
    normalise,
    validate_for_training,
)

# 943 476 5919 is NHS England's own documentation example; the others were worked by
# hand: 999 000 001 -> 9*10 + 9*9 + 9*8 + 1*2 = 245, 245 mod 11 = 3, 11 - 3 = 8.
VALID = ["9434765919", "4010232137", "9990000018", "9876543210", "9991111115"]
INVALID_CHECK = ["9434765918", "9434765910", "4010232138", "9990000019"]
NEVER_ISSUED = ["9990000000", "9991234560", "9991234567"]  # stems whose check works out as 10


def test_check_digit_worked_example():
    # 9*10 + 4*9 + 3*8 + 4*7 + 7*6 + 6*5 + 5*4 + 9*3 + 1*2 = 299; 299 mod 11 = 2; 11 - 2 = 9
    assert check_digit("943476591") == 9


def test_check_digit_eleven_means_zero_and_ten_means_none():
    # 987654321: 90+72+56+42+30+20+12+6+2 = 330 = 30 * 11, remainder 0 -> 11 -> 0
    assert check_digit("987654321") == 0
    # 999000000: 90+81+72 = 243, 243 mod 11 = 1 -> 10 -> no valid number
    assert check_digit("999000000") is None


@pytest.mark.parametrize("bad", ["12345678", "1234567890", "12345678a", "", "١٢٣٤٥٦٧٨٩"])
def test_check_digit_needs_nine_ascii_digits(bad):
    with pytest.raises(ValueError):
        check_digit(bad)


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers(number):
    assert is_valid(number)
    assert is_valid(format_nhs(number))


@pytest.mark.parametrize("number", INVALID_CHECK + NEVER_ISSUED + ["943476591", "94347659190", ""])
def test_known_invalid_numbers(number):
    assert not is_valid(number)


def test_is_valid_refuses_stray_characters():
    assert not is_valid("943 476 591O")
    assert not is_valid("9434765919x")


@pytest.mark.parametrize(
    ("typed", "digits", "stray"),
    [
        ("943 476 5919", "9434765919", ()),
        ("943-476-5919", "9434765919", ()),
        ("  943\u00a0476\u2013 5919 ", "9434765919", ()),
        ("９４３４７６５９１９", "9434765919", ()),  # full-width digits from a phone keyboard
        ("943.476.5919", "9434765919", (".",)),
        ("943 476 591O", "943476591", ("O",)),
        ("NHS: 943 476 5919", "9434765919", ("N", "H", "S", ":")),
    ],
)
def test_normalise(typed, digits, stray):
    result = normalise(typed)
    assert result.digits == digits
    assert result.stray == stray


def test_format_nhs():
    assert format_nhs("9434765919") == "943 476 5919"
    assert format_nhs("943-476-5919") == "943 476 5919"
    with pytest.raises(ValueError):
        format_nhs("943476591")
    with pytest.raises(ValueError):
        format_nhs("943476591O")


def test_in_test_range():
    assert in_test_range("999 000 0018")
    assert not in_test_range("943 476 5919")


# ---------------------------------------------------------------------------
# validate_for_training: every rejection reason, in words.
# ---------------------------------------------------------------------------


def test_accepts_a_valid_test_range_number():
    result = validate_for_training("999-000-0018")
    assert result.ok
    assert result.number == "9990000018"
    assert result.formatted == "999 000 0018"
    assert result.message is None and result.reason is None


def test_rejects_empty():
    result = validate_for_training("   ")
    assert not result.ok
    assert result.reason == "empty"
    assert "10 digits" in result.message


def test_rejects_stray_characters_and_names_them():
    result = validate_for_training("999 000 OO18")
    assert not result.ok
    assert result.reason == "stray_characters"
    assert "'O'" in result.message
    assert "letter O" in result.message


@pytest.mark.parametrize(
    ("typed", "count", "word"), [("999 000 001", 9, "too few"), ("99900000188", 11, "too many")]
)
def test_rejects_wrong_length(typed, count, word):
    result = validate_for_training(typed)
    assert not result.ok
    assert result.reason == "wrong_length"
    assert f"I counted {count}" in result.message
    assert word in result.message
    assert "exactly 10 digits" in result.message


def test_rejects_failed_check_digit_and_says_what_it_should_be():
    result = validate_for_training("999 000 0019")
    assert not result.ok
    assert result.reason == "check_digit_mismatch"
    assert "Modulus 11" in result.message
    assert "would have to be 8, not 9" in result.message
    assert result.formatted == "999 000 0019"


def test_rejects_never_issued_stem():
    result = validate_for_training("999 000 0000")
    assert not result.ok
    assert result.reason == "never_issued"
    assert "never issued" in result.message
    assert "10" in result.message


def test_rejects_valid_number_outside_test_range_and_explains_why():
    result = validate_for_training("943 476 5919")
    assert not result.ok
    assert result.reason == "outside_test_range"
    assert "valid NHS number" in result.message
    assert "999" in result.message
    assert "real" in result.message  # explains why the test range matters


def test_operator_setting_allows_any_valid_number():
    result = validate_for_training("943 476 5919", allow_any_valid=True)
    assert result.ok
    assert result.number == "9434765919"
    # ...but never an invalid one.
    assert not validate_for_training("943 476 5918", allow_any_valid=True).ok


def test_every_rejection_has_its_own_reason_and_a_full_sentence():
    typed = ["", "x", "1", "999 000 0019", "999 000 0000", "943 476 5919"]
    results = [validate_for_training(t) for t in typed]
    assert [r.reason for r in results] == [
        "empty",
        "stray_characters",
        "wrong_length",
        "check_digit_mismatch",
        "never_issued",
        "outside_test_range",
    ]
    for r in results:
        assert not r.ok and r.number is None
        assert r.message and r.message.rstrip().endswith((".", ")"))


# ---------------------------------------------------------------------------
# Generation and properties.
# ---------------------------------------------------------------------------


def test_generate_test_number_is_valid_and_in_range():
    rng = random.Random(1234)
    numbers = {generate_test_number(rng) for _ in range(2000)}
    assert len(numbers) > 1900
    for n in numbers:
        assert len(n) == 10 and n.startswith("999")
        assert is_valid(n)
        assert validate_for_training(n).ok


def test_generate_test_number_is_repeatable_with_a_seed():
    assert generate_test_number(random.Random(7)) == generate_test_number(random.Random(7))


def test_generate_test_number_without_rng():
    assert validate_for_training(generate_test_number()).ok


stems = st.text(alphabet="0123456789", min_size=9, max_size=9)


@given(stems)
def test_any_stem_with_a_check_digit_makes_a_valid_number(stem):
    check = check_digit(stem)
    if check is None:
        assert not any(is_valid(stem + str(d)) for d in range(10))
    else:
        assert is_valid(stem + str(check))
        assert sum(is_valid(stem + str(d)) for d in range(10)) == 1


@given(stems, st.integers(0, 9), st.integers(1, 9))
def test_a_single_mistyped_digit_is_always_caught(stem, position, delta):
    check = check_digit(stem)
    if check is None:
        return
    number = stem + str(check)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not is_valid(changed)


@given(stems, st.integers(0, 8))
def test_swapped_neighbours_are_always_caught(stem, position):
    check = check_digit(stem)
    if check is None:
        return
    number = stem + str(check)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert not is_valid(swapped)
