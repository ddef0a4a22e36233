"""Built-in scenarios teach what they claim, and tutors' CSV files are checked like /add."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.rules.nhs_number import in_test_range, is_valid
from bot.rules.pathway import Event, evaluate
from bot.rules.records import evaluate_row
from bot.rules.scenario_csv import COLUMNS, MAX_ROWS, parse_day, parse_exercise_csv, template_csv
from bot.rules.scenarios import (
    MAX_OPTIONS,
    SCENARIOS,
    QuestionError,
    ScenarioPatient,
    parse_question,
    resolve_day,
)
from bot.rules.validator import validate

TODAY = dt.date(2025, 3, 3)
# The answer keys must hold whatever day a student starts: a leap day, the clocks changing,
# New Year's Day.
IMPORT_DAYS = (TODAY, dt.date(2024, 2, 29), dt.date(2025, 3, 30), dt.date(2026, 1, 1))

REQUIRED_TOPICS = (
    "rtt_breach_triage",
    "dna_nullification",
    "active_monitoring",
    "cancer_62_upgrade",
    "long_waiters",
)


def test_the_five_required_scenarios_exist() -> None:
    for key in REQUIRED_TOPICS:
        assert key in SCENARIOS
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("key", sorted(SCENARIOS))
@pytest.mark.parametrize("today", IMPORT_DAYS, ids=str)
def test_every_patient_has_the_status_its_answer_key_says(key: str, today: dt.date) -> None:
    for p in SCENARIOS[key].patients:
        row = p.row(today, added_by="test", tag="[EX1]")
        state = evaluate_row(
            row["pathway_type"], row["clock_start_date"], row["events"], today,
            priority=row["priority"],
        )  # fmt: skip
        assert state is not None, p.name
        assert state.status == p.expect, (key, p.name, state.status)
        assert row["clock_state"] in ("running", "stopped", "ended", "nullified")
        assert row["breach_date"] == state.breach_date


def test_scenario_patients_are_fictional_and_distinct() -> None:
    numbers = [p.nhs_number for s in SCENARIOS.values() for p in s.patients]
    names = [p.name for s in SCENARIOS.values() for p in s.patients]
    assert all(is_valid(n) and in_test_range(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert len(set(names)) == len(names)
    for s in SCENARIOS.values():
        assert len({p.key for p in s.patients}) == len(s.patients)
        assert s.title and s.teaches and s.answer_key


def test_specific_teaching_points() -> None:
    rtt = {p.name: p for p in SCENARIOS["rtt_breach_triage"].patients}
    gwen = rtt["Gwen Ashdown"].row(TODAY, added_by="t", tag="x")
    state = evaluate_row("rtt", gwen["clock_start_date"], gwen["events"], TODAY)
    assert state is not None and state.breached and state.status == "stopped"

    dna = {p.name: p for p in SCENARIOS["dna_nullification"].patients}
    rhys = dna["Rhys Penhallow"].row(TODAY, added_by="t", tag="x")
    assert rhys["events"][-1]["code"] == "10"  # new clock after a nullified DNA
    assert rhys["clock_start_date"] == TODAY - dt.timedelta(days=70)

    am = {p.name: p for p in SCENARIOS["active_monitoring"].patients}
    sunita = am["Sunita Ravel"].row(TODAY, added_by="t", tag="x")
    assert sunita["events"][-1]["code"] == "11"  # new clock after active monitoring

    long = {p.name: p for p in SCENARIOS["long_waiters"].patients}
    weeks = {}
    for name, p in long.items():
        row = p.row(TODAY, added_by="t", tag="x")
        state = evaluate_row("rtt", row["clock_start_date"], row["events"], TODAY)
        assert state is not None
        weeks[name] = state.long_wait_weeks
    assert weeks["Gareth Mellor"] == 52
    assert weeks["Lowri Prothero"] == 65
    assert weeks["Edmund Caird"] == 78
    assert weeks["Harriet Voss"] == 104
    assert weeks["Ada Rushworth"] is None

    upgrade = {p.name: p for p in SCENARIOS["cancer_62_upgrade"].patients}
    ioan = upgrade["Ioan Beddoe"].row(TODAY, added_by="t", tag="x")
    assert ioan["referral_date"] == TODAY - dt.timedelta(days=90)
    state = evaluate("cancer_62", ioan["clock_start_date"], [], TODAY)
    assert state.days_waited == 20


def test_built_in_pathways_have_no_validator_errors() -> None:
    for s in SCENARIOS.values():
        for p in s.patients:
            start = resolve_day(p.clock_start, TODAY)
            events = [Event(resolve_day(e.day, TODAY), e.kind, i) for i, e in enumerate(p.events)]
            referral = resolve_day(p.referral_date, TODAY) if p.referral_date is not None else None
            errors = [
                f
                for f in validate(p.pathway_type, start, events, TODAY, referral)
                if f.severity == "error"
            ]
            assert errors == [], (s.key, p.name, errors)


def test_suggested_questions_are_valid_quiz_polls() -> None:
    for s in SCENARIOS.values():
        assert s.questions, s.key
        for q in s.questions:
            assert 2 <= len(q.options) <= MAX_OPTIONS
            assert 0 <= q.correct < len(q.options)
            assert len(q.question) <= 300
            assert all(1 <= len(o) <= 100 for o in q.options)
            assert q.explanation is None or len(q.explanation) <= 200


def test_patient_json_round_trip_keeps_relative_and_fixed_dates() -> None:
    p = SCENARIOS["cancer_62_upgrade"].patients[1]
    assert ScenarioPatient.from_json(p.to_json()).to_json() == p.to_json()
    fixed = ScenarioPatient("P1", "Ann", "9990000018", "rtt", dt.date(2025, 1, 6))
    assert ScenarioPatient.from_json(fixed.to_json()) == fixed


# --- quiz questions typed by a tutor ----------------------------------------------------


def test_parse_question() -> None:
    q = parse_question(
        "Which code starts a new clock after a nullified DNA?\n10\n* 11\n20\n"
        "? Trick question: it's 10."
    )
    assert q.options == ("10", "11", "20") and q.correct == 1
    assert q.explanation == "Trick question: it's 10."
    with pytest.raises(QuestionError, match="exactly one"):
        parse_question("Q?\nA\nB")
    with pytest.raises(QuestionError, match="exactly one"):
        parse_question("Q?\n*A\n*B")
    with pytest.raises(QuestionError, match="at least two"):
        parse_question("Q?\n*A")
    with pytest.raises(QuestionError, match="same"):
        parse_question("Q?\n*A\na")
    with pytest.raises(QuestionError, match="100"):
        parse_question("Q?\n*A\n" + "b" * 101)


# --- CSV ----------------------------------------------------------------------------------


def _csv(*rows: str, header: str | None = None) -> bytes:
    head = header or ",".join(c.name for c in COLUMNS)
    return ("\n".join([head, *rows]) + "\n").encode()


def test_template_is_accepted_and_round_trips() -> None:
    result = parse_exercise_csv(template_csv(), today=TODAY, rng=random.Random(1))
    assert result.ok, result.errors
    assert [p.name for p in result.patients] == ["Ann Example", "Bill Example", "Cath Example"]
    ann = result.patients[0]
    assert ann.clock_start == -130 and ann.referral_date == -135
    assert is_valid(ann.nhs_number) and in_test_range(ann.nhs_number)
    assert [e.kind for e in ann.events] == ["activity"]
    # Relative dates resolve against the day the student starts.
    row = ann.row(dt.date(2025, 6, 1), added_by="t", tag="[EX]")
    assert row["clock_start_date"] == dt.date(2025, 6, 1) - dt.timedelta(days=130)


def test_csv_errors_are_reported_line_by_line() -> None:
    content = _csv(
        "Ann Example,,Cardiology,rtt,-130,,,,,,",  # line 2: fine
        "Bill Example,9434765919,Cardiology,rtt,-10,,,,,,",  # line 3: real-range number
        "Cath Example,,Cardiology,weekly,-10,,,,,,",  # line 4: unknown pathway
        "Dan Example,,Cardiology,rtt,31/02/2025,,,,,,",  # line 5: impossible date
        "Eve Example,,Cardiology,rtt,-10,,,,,teleport@-3,",  # line 6: unknown event
        ",,Cardiology,rtt,-10,,,,,,",  # line 7: no name
        "Fay Example,,Cardiology,rtt,-10,,,,,activity@-30,",  # line 8: event before start
        "Gus Example,,Cardiology,rtt,+5,,,,,,",  # line 9: future
    )
    result = parse_exercise_csv(content, today=TODAY)
    assert not result.ok
    by_line = {(p.line, p.column) for p in result.errors}
    assert (3, "nhs_number") in by_line
    assert (4, "pathway_type") in by_line
    assert (5, "clock_start") in by_line
    assert (6, "events") in by_line
    assert (7, "patient_name") in by_line
    assert any(p.line == 8 for p in result.errors)
    assert (9, "clock_start") in by_line
    assert not any(p.line == 2 for p in result.errors)
    assert "test range" in next(p.message for p in result.errors if p.line == 3)
    assert str(result.errors[0]).startswith("Line 3, nhs_number:")


def test_csv_header_problems() -> None:
    result = parse_exercise_csv(b"name,clock\nAnn,-3\n", today=TODAY)
    assert not result.ok
    assert "Unknown columns: name, clock" in result.errors[0].message
    assert "Missing columns: patient_name, pathway_type, clock_start" in result.errors[1].message
    one = parse_exercise_csv(
        b"patient_name,pathway_type,clock_start,ward\nAnn,rtt,-3,\n", today=TODAY
    )
    assert one.errors[0].message.startswith("Unknown column: ward. The columns are:")
    assert not parse_exercise_csv(b"", today=TODAY).ok
    header_only = parse_exercise_csv(_csv(), today=TODAY)
    assert [str(e) for e in header_only.errors] == ["File: The file has a header but no patients."]


def test_csv_accepts_excel_quirks() -> None:
    """A BOM, semicolons, CRLF, columns in another order, and only the required ones."""
    content = "\ufeffclock_start;pathway_type;patient_name\r\n18 weeks ago;RTT;Ann Example\r\n"
    result = parse_exercise_csv(content.encode("utf-8"), today=TODAY)
    assert result.ok, result.errors
    assert result.patients[0].clock_start == -126


def test_csv_row_limit_and_duplicate_numbers() -> None:
    rows = [f"P{i} Example,,,rtt,-10,,,,,," for i in range(MAX_ROWS + 1)]
    assert not parse_exercise_csv(_csv(*rows), today=TODAY).ok
    dupes = _csv("A Example,9990000018,,rtt,-10,,,,,,", "B Example,999 000 0018,,rtt,-10,,,,,,")
    result = parse_exercise_csv(dupes, today=TODAY)
    assert [(p.line, p.column) for p in result.errors] == [(3, "nhs_number")]


def test_csv_validator_warnings_do_not_block() -> None:
    content = _csv("Ann Example,,,rtt,-60,,,,,activity@-40; dna_first_appointment@-10,")
    result = parse_exercise_csv(content, today=TODAY)
    assert result.ok
    assert result.warnings and result.warnings[0].line == 2


def test_parse_day_forms() -> None:
    assert parse_day("-130", TODAY) == -130
    assert parse_day("0", TODAY) == 0
    assert parse_day("today", TODAY) == 0
    assert parse_day("yesterday", TODAY) == -1
    assert parse_day("3 weeks ago", TODAY) == -21
    assert parse_day("a day ago", TODAY) == -1
    assert parse_day("12/10/2024", TODAY) == dt.date(2024, 10, 12)


@pytest.mark.parametrize("today", IMPORT_DAYS, ids=str)
def test_booking_in_turn_scenario_teaches_its_three_findings(today: dt.date) -> None:
    from bot.rules.booking_checks import PtlPatient, check_ptl
    from bot.rules.bookings import summarise
    from bot.rules.records import events_from_json

    scenario = SCENARIOS["booking_in_turn"]
    patients = []
    for p in scenario.patients:
        row = p.row(today, added_by="t", tag="x")
        events = events_from_json(row["events"])
        state = evaluate_row("rtt", row["clock_start_date"], row["events"], today)
        summary = summarise(row["appointments"], state, today, "rtt", row["clock_start_date"],
                            events)  # fmt: skip
        patients.append(PtlPatient(p.key, p.name, p.specialty, p.priority, state, summary,
                                   events, p.notes))  # fmt: skip
    found = {key: [f.code for f in fs] for key, fs in check_ptl(patients, today).items()}
    assert found == {
        "A": ["booked_out_of_turn"],  # Winifred, undated while Lionel is booked
        "E": ["booked_after_breach"],  # Tobias's TCI after his breach date
        "F": ["outcome_missing"],  # Maeve's follow-up 8 days ago
    }
    by_key = {p.patient_id: p for p in patients}
    assert by_key["A"].bookings.undated and by_key["D"].bookings.undated
    assert by_key["E"].bookings.after_breach and by_key["F"].bookings.outcome_needed


def test_scenario_bookings_survive_the_exercise_json() -> None:
    scenario = SCENARIOS["booking_in_turn"]
    for p in scenario.patients:
        again = ScenarioPatient.from_json(p.to_json())
        assert again.bookings == p.bookings
    tobias = next(p for p in scenario.patients if p.name == "Tobias Hartnell")
    row = tobias.row(TODAY, added_by="t", tag="x")
    assert row["appointments"][0]["type"] == "admission_day_case"
    assert row["appointments"][0]["date"] == (TODAY + dt.timedelta(days=30)).isoformat()
    assert row["booking_late_dates"] == [TODAY + dt.timedelta(days=30)]
    assert row["current_status"] == "On Waiting List for Treatment"


def _state(scenario: str, name: str, today: dt.date = TODAY):
    p = {p.name: p for p in SCENARIOS[scenario].patients}[name]
    row = p.row(today, added_by="t", tag="x")
    return row, evaluate_row(
        row["pathway_type"], row["clock_start_date"], row["events"], today,
        priority=row["priority"],
    )  # fmt: skip


@pytest.mark.parametrize("today", IMPORT_DAYS, ids=str)
def test_revision_2_teaching_points(today: dt.date) -> None:
    """Each rule revision 2 changed has a built-in patient that shows it, on any import day."""
    _, maisie = _state("dna_nullification", "Maisie Tregarthen", today)
    assert maisie is not None and maisie.clock_start == today - dt.timedelta(days=25)
    _, dilys = _state("dna_nullification", "Dilys Fairweather", today)
    assert (
        dilys is not None
        and dilys.running
        and [n.note for n in dilys.notes] == ["dna_urgent_suspected_cancer"]
    )
    row, sunita = _state("active_monitoring", "Sunita Ravel", today)
    assert row["events"][-1]["kind"] == "decision_to_treat"  # not a "new clock" any more
    assert sunita is not None and sunita.rtt_code == 11 and sunita.days_waited == 14
    _, ffion = _state("active_monitoring", "Ffion Castell", today)
    assert ffion is not None and ffion.status == "stopped" and ffion.days_waited == 30
    _, peter = _state("cancer_62_upgrade", "Peter Lindqvist", today)
    assert peter is not None and peter.status == "ended" and not peter.breached
    _, gideon = _state("cancer_62_upgrade", "Gideon Marlowe", today)
    assert gideon is not None and (gideon.adjusted_days, gideon.days_waited) == (14, 46)
    _, olwen = _state("diagnostic_six_weeks", "Olwen Pryce", today)
    assert olwen is not None and olwen.days_waited == 10


def test_revision_2_quiz_wording() -> None:
    """Wording points 10, 11 and 12 of the rules review, in the quizzes and answer keys."""
    triage = SCENARIOS["rtt_breach_triage"]
    gwen = next(q for q in triage.questions if "Gwen" in q.question)
    assert gwen.options[gwen.correct] == "Stopped after the 18-week standard"
    assert "still counts as a breach when reported" not in (gwen.explanation or "")
    assert "measured on patients still waiting" in (gwen.explanation or "")
    long = SCENARIOS["long_waiters"]
    q78 = next(q for q in long.questions if "78" in q.question)
    assert "more than 78 weeks" in q78.question and q78.options[q78.correct] == "547"
    assert "78 weeks or more" not in q78.question
    everything = " ".join(
        [s.teaches + s.answer_key for s in SCENARIOS.values()]
        + [
            q.question + " ".join(q.options) + (q.explanation or "")
            for s in SCENARIOS.values()
            for q in s.questions
        ]
    )
    assert "104+" not in everything and "78+" not in everything and "52+" not in everything
    assert "first definitive treatment decided after active monitoring" not in everything
    assert "first activity of a new RTT period after active monitoring" in everything
