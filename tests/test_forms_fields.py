"""The form fields' rules (bot/services/patient_form.py), the change descriptions, and the treatment
function list: pure tests, no database, with hypothesis for the "any text at all" cases."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages.clock import clock_line, describe_change
from bot.rules.fields import NAME_LIMIT, NOTES_LIMIT, is_idle
from bot.rules.nhs_number import is_valid
from bot.rules.pathway import Event, evaluate
from bot.rules.specialties import COMMON, TREATMENT_FUNCTIONS, lookup
from bot.runtime.offline import html_to_plain
from bot.services.patient_form import FIELDS, FieldContext

TODAY = dt.date(2025, 3, 3)
CTX = FieldContext(today=TODAY, values={})


def ctx(**values: object) -> FieldContext:
    return FieldContext(today=TODAY, values=values)


# -- every field, any text: a value or a helpful, valid-HTML, short message -----------------


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(sorted(FIELDS)), raw=st.text(max_size=300))
def test_any_text_gets_a_value_or_a_short_valid_explanation(key: str, raw: str) -> None:
    parsed = FIELDS[key].from_text(raw, ctx(referral_date=dt.date(2025, 2, 3)))
    if parsed.ok:
        assert parsed.value is not None
        shown = FIELDS[key].show(parsed.value)
        html_to_plain(shown)  # displayable as Telegram HTML
    else:
        assert parsed.error
        plain = html_to_plain(parsed.error)  # raises on anything Telegram would refuse
        assert 10 < len(plain) < 1200


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(raw=st.text(min_size=3000, max_size=6000))
def test_huge_input_is_refused_quickly_everywhere(raw: str) -> None:
    for key, field in FIELDS.items():
        parsed = field.from_text(raw, CTX)
        if key == "spec" and parsed.ok:  # pragma: no cover - impossible above 100 chars
            raise AssertionError(parsed)
        if key != "notes" or len(raw.strip()) > NOTES_LIMIT:
            assert not parsed.ok, key


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=NAME_LIMIT))
def test_plain_letters_are_a_name(name: str) -> None:
    assert FIELDS["name"].from_text(name, CTX).value == name


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("  Jane   O'Neil-Smith ", "Jane O'Neil-Smith"),
        ("Zoë Łukasz", "Zoë Łukasz"),
        ("Test Patient 3", "Test Patient 3"),
        ("Dr. A. Patel (locum)", "Dr. A. Patel (locum)"),
    ],
)
def test_names_accepted(raw: str, value: str) -> None:
    assert FIELDS["name"].from_text(raw, CTX).value == value


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("😀", "can contain letters"),
        ("<b>Jane</b>", "can contain letters"),
        ("123", "needs at least one letter"),
        ("x" * 101, "at most 100"),
        ("Ja\u0000ne", "control characters"),
        ("   ", "didn't see any text"),
    ],
)
def test_names_refused_with_a_reason(raw: str, hint: str) -> None:
    parsed = FIELDS["name"].from_text(raw, CTX)
    assert parsed.error is not None and hint in parsed.error


def test_refusals_escape_what_was_typed() -> None:
    parsed = FIELDS["name"].from_text("Jane <&>", CTX)
    assert parsed.error is not None
    assert "&lt; &amp; &gt;" in parsed.error
    parsed = FIELDS["ref"].from_text("<b>soon</b>", CTX)
    assert parsed.error is not None and "&lt;b&gt;soon&lt;/b&gt;" in parsed.error


def test_nhs_number_policy() -> None:
    nhs = FIELDS["nhs"]
    assert nhs.from_text("999 000 0018", CTX).value == "9990000018"
    refused = nhs.from_text("943 476 5919", CTX)
    assert refused.error is not None and "test range" in refused.error
    allowed = FieldContext(today=TODAY, values={}, allow_any_nhs=True)
    assert nhs.from_text("943 476 5919", allowed).value == "9434765919"
    for _ in range(20):
        generated = nhs.from_choice("gen", CTX).value
        assert generated.startswith("999") and is_valid(generated)


def test_dates_quick_buttons_and_cross_checks() -> None:
    ref, start = FIELDS["ref"], FIELDS["start"]
    assert ref.from_choice("today", CTX).value == TODAY
    assert ref.from_choice("yday", CTX).value == dt.date(2025, 3, 2)
    assert ref.from_choice("w1", CTX).value == dt.date(2025, 2, 24)
    assert ref.from_choice("w18", CTX).value == dt.date(2024, 10, 28)
    referral = ctx(referral_date=dt.date(2025, 2, 3))
    # No "Same as referral": the clock starts when the letter is received (issue 12 item 13).
    assert start.from_choice("same", referral).error is not None
    refused = start.from_text("2 Feb 2025", referral)
    assert refused.error is not None and "can't start before the referral" in refused.error
    later = ref.from_text("4 Feb 2025", ctx(clock_start_date=dt.date(2025, 2, 3)))
    assert later.error is not None and "can't be after the clock start" in later.error
    # Shortcuts before the letter's date are not offered for the clock start.
    assert [c.value for row in start.choices(referral) for c in row] == [
        "today",
        "yday",
        "w1",
        "w4",
    ]
    every = ["today", "yday", "w1", "w4", "w8", "w12", "w18"]
    assert [c.value for row in start.choices(CTX) for c in row] == every


def test_date_buttons_carry_their_dates() -> None:
    """Issue 15 point 11: Today, Yesterday and 1/4/8/12/18 weeks ago, each with its date."""
    labels = [c.label for row in FIELDS["ref"].choices(CTX) for c in row]
    assert labels == [
        "Today · 3 Mar 2025",
        "Yesterday · 2 Mar 2025",
        "1 week ago · 24 Feb 2025",
        "4 weeks ago · 3 Feb 2025",
        "8 weeks ago · 6 Jan 2025",
        "12 weeks ago · 9 Dec 2024",
        "18 weeks ago · 28 Oct 2024",
    ]
    rows = FIELDS["ref"].choices(CTX)
    assert all(len(row) <= 2 for row in rows)  # two to a row on a phone
    # The letter can't be dated after the clock start: later shortcuts are left out.
    before_start = ctx(clock_start_date=dt.date(2025, 2, 3))
    values = [c.value for row in FIELDS["ref"].choices(before_start) for c in row]
    assert values == ["w4", "w8", "w12", "w18"]


def test_clock_start_asks_for_the_receipt_date_and_says_the_difference() -> None:
    prompt = FIELDS["start"].prompt(ctx(referral_date=dt.date(2025, 2, 3), pathway_type="rtt"))
    assert "<b>receive</b> the referral" in prompt
    assert "not on the date written on the letter" in prompt
    assert "The letter is dated 3 Feb 2025: that is the referral date." in prompt
    assert "Same as referral" not in prompt
    dtt = FIELDS["start"].prompt(ctx(referral_date=dt.date(2025, 2, 3), pathway_type="cancer_31"))
    assert "decision to treat" in dtt and "letter is dated" not in dtt
    assert "What date is on the referral letter" in FIELDS["ref"].prompt(CTX)


def test_pathway_and_priority_words() -> None:
    path, prio = FIELDS["path"], FIELDS["prio"]
    for typed, key in [
        ("RTT", "rtt"),
        ("18 weeks", "rtt"),
        ("2ww", "cancer_fds"),
        ("62", "cancer_62"),
        ("31-day", "cancer_31"),
        ("DM01", "diagnostic"),
    ]:
        assert path.from_text(typed, CTX).value == key, typed  # fmt: skip
    assert path.from_text("weekly", CTX).error is not None
    assert prio.from_text("two week wait", CTX).value == "Urgent suspected cancer"
    assert prio.from_choice("p1a", CTX).value == "P1a"
    assert prio.from_text("soonish", CTX).error is not None


def test_specialty_codes_and_names() -> None:
    spec = FIELDS["spec"]
    assert spec.from_choice("110", CTX).value == "Trauma and Orthopaedics"
    assert spec.from_text("TFC 120", CTX).value == "Ear, Nose and Throat"
    assert spec.from_text("t&o", CTX).value == "Trauma and Orthopaedics"
    assert spec.from_text("Sports Medicine", CTX).value == "Sports Medicine"
    assert spec.from_choice("999", CTX).error is not None
    assert len({t.code for t in TREATMENT_FUNCTIONS}) == len(TREATMENT_FUNCTIONS)
    assert all(len(f"add:c:{t.code}") <= 64 and len(t.short) <= 20 for t in COMMON)
    assert lookup("110 Trauma and Orthopaedics") is not None and lookup("110 Urology") is None


def test_notes_keep_lines_but_not_control_characters() -> None:
    notes = FIELDS["notes"]
    assert notes.from_text("line one\nline two", CTX).value == "line one\nline two"
    assert notes.from_text("bell\x07", CTX).error is not None
    assert notes.from_text("x" * NOTES_LIMIT, CTX).ok
    assert not notes.from_text("x" * (NOTES_LIMIT + 1), CTX).ok


def test_callback_values_fit_telegrams_limit() -> None:
    for field in FIELDS.values():
        for row in field.choices(ctx(referral_date=TODAY, pathway_type="rtt")):
            for choice in row:
                assert len(f"updf:c:{choice.value}".encode()) <= 64
                assert choice.label.strip()


# -- clock lines and what changed --------------------------------------------------------------


def _state(events: list[Event], today: dt.date, ptype: str = "rtt"):  # type: ignore[no-untyped-def]
    return evaluate(ptype, dt.date(2025, 2, 3), events, today)


def test_the_issue_example_treated_within_18_weeks() -> None:
    today = dt.date(2025, 6, 2)
    before = _state([], today)
    treated = Event(dt.date(2025, 5, 1), "treatment_started")
    after = _state([treated], today)
    (line,) = describe_change(before, after, new_event=0)
    assert html_to_plain(line) == "clock stopped: treated, within the 18-week standard (day 87) ✔"
    assert "Clock stopped 1 May 2025 · within the 18-week standard (day 87) ✔" in html_to_plain(
        clock_line(after)
    )


def test_changes_for_each_kind_of_outcome() -> None:
    today = dt.date(2025, 6, 20)
    before = _state([], today)
    late = _state([Event(dt.date(2025, 6, 19), "treatment_started")], today)
    # Issue 15 point 7: "after the 18-week standard (day 136)", never "breached 18 weeks".
    assert "after the 18-week standard (day 136) ✖" in describe_change(before, late, new_event=0)[0]
    assert "breached 18 weeks" not in describe_change(before, late, new_event=0)[0]
    dna = _state([Event(dt.date(2025, 2, 10), "dna_first_appointment")], today)
    assert "nullified" in describe_change(before, dna, new_event=0)[0]
    moved = _state([Event(dt.date(2025, 3, 1), "transfer_out")], today)
    assert "transferred out" in describe_change(before, moved, new_event=0)[0]
    keeps = _state([Event(dt.date(2025, 3, 1), "activity")], today)
    assert "clock continues" in describe_change(before, keeps, new_event=0)[0]
    stopped = _state([Event(dt.date(2025, 3, 1), "treatment_started")], today)
    again = _state(
        [Event(dt.date(2025, 3, 1), "treatment_started"), Event(dt.date(2025, 4, 1), "died")],
        today,
    )
    assert "already stopped" in describe_change(stopped, again, new_event=1)[0]
    renewed = _state(
        [
            Event(dt.date(2025, 3, 1), "active_monitoring_patient"),
            Event(dt.date(2025, 4, 1), "new_clock"),
        ],
        today,
    )
    monitored = _state([Event(dt.date(2025, 3, 1), "active_monitoring_patient")], today)
    assert (
        "new clock started 1 Apr 2025 (code 11)"
        in describe_change(monitored, renewed, new_event=1)[0]
    )
    for line in (late, dna, moved, keeps, stopped, renewed):
        html_to_plain(clock_line(line))


def test_field_change_reports_breach_and_status_moves() -> None:
    today = dt.date(2025, 6, 2)
    before = evaluate("rtt", dt.date(2025, 2, 3), [], today)
    after = evaluate("cancer_62", dt.date(2025, 2, 3), [], today)
    lines = [html_to_plain(x) for x in describe_change(before, after)]
    assert "breach date 10 Jun 2025 → 7 Apr 2025" in lines
    assert "status At risk → Breached" in lines
    same = describe_change(before, before)
    assert same == ["the clock is unchanged"]
    events = [Event(dt.date(2025, 2, 20), "activity")]
    earlier = evaluate("rtt", dt.date(2025, 2, 3), events, today)
    later = evaluate("rtt", dt.date(2025, 3, 1), events, today)
    assert any("would no longer count" in x for x in describe_change(earlier, later))


def test_idle_rule() -> None:
    now = dt.datetime(2025, 3, 3, 12, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    assert not is_idle(now - hour + dt.timedelta(seconds=1), now, hour)
    assert is_idle(now - hour, now, hour)
    assert is_idle(None, now, hour)


def test_messages_are_plain_enough_to_escape_once() -> None:
    # Wording constants never contain raw '<' outside tags: they are HTML already.
    from bot.messages import add, forms, update

    for module in (add, forms, update):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                html_to_plain(value.replace("{", "").replace("}", ""))
    assert html.escape("a") == "a"
