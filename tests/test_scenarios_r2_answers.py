"""The six original built-in scenarios, re-checked against revision 2 of the rules contract.

`test_scenarios.py` holds each patient to its `expect` status. That alone would not catch an
answer key or a quiz answer that revision 2 made wrong while the status stayed the same (a day
count, a code, an adjustment, "which patient has breached"). So here every figure an answer
key states is checked against the engine, and every quiz question's correct option is worked
out from the engine's clocks, on each of the four import days (a leap day, the clocks
changing, New Year's Day, and the usual "today").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from bot.rules.pathway import STATUSES, ClockState, Event, effect_of, evaluate
from bot.rules.records import evaluate_row
from bot.rules.scenarios import SCENARIOS

IMPORT_DAYS = (dt.date(2025, 3, 3), dt.date(2024, 2, 29), dt.date(2025, 3, 30), dt.date(2026, 1, 1))
ORIGINAL = (
    "rtt_breach_triage",
    "dna_nullification",
    "active_monitoring",
    "cancer_62_upgrade",
    "long_waiters",
    "diagnostic_six_weeks",
)


def clocks(key: str, today: dt.date) -> dict[str, ClockState]:
    """Each patient's clock as a student's PTL shows it after importing on ``today``."""
    out: dict[str, ClockState] = {}
    for p in SCENARIOS[key].patients:
        row = p.row(today, added_by="t", tag="x")
        state = evaluate_row(
            row["pathway_type"], row["clock_start_date"], row["events"], today,
            priority=row["priority"],
        )  # fmt: skip
        assert state is not None, p.name
        out[p.name] = state
    return out


# What each answer key says, per patient: (status, days waited on the clock shown, extra
# facts as attribute -> value). The words of the key are quoted beside each.
KEYS: dict[str, dict[str, tuple[str, int, dict[str, object]]]] = {
    "rtt_breach_triage": {
        "Margaret Thornbury": ("breached", 131, {}),  # breached and still waiting, day 131
        "Oliver Bramwell": ("at_risk", 126, {"days_to_breach": 1}),  # last compliant day today
        "Priya Castleton": ("at_risk", 124, {"days_to_breach": 3}),  # day 124, 3 days to breach
        "Hamish Lowther": ("at_risk", 110, {}),
        "Nkechi Arden": ("on_track", 98, {"days_to_breach": 29}),
        "Tomasz Fenwick": ("on_track", 60, {}),
        "Gwen Ashdown": ("stopped", 140, {"breached": True}),  # stopped after the standard
    },
    "dna_nullification": {
        "Elsie Marchbank": ("nullified", 20, {"breached": False}),
        "Rhys Penhallow": ("on_track", 30, {"rtt_code": 10, "clock_number": 2}),
        "Fatima Okonjo": ("on_track", 60, {"clock_number": 1}),  # DNA after a seen appointment
        "Dilys Fairweather": ("on_track", 40, {"clock_number": 1}),  # USC priority
        "Callum Dunmore": ("on_track", 20, {"awaiting_rebooking": True}),  # FDS: never nullified
        "Maisie Tregarthen": ("on_track", 25, {"reset_by": "new_clock"}),  # first seen, day 25
        "Bryony Tate": ("stopped", 65, {"ended_by": "discharged"}),
    },
    "active_monitoring": {
        "Leonard Quill": ("stopped", 40, {"rtt_code": 32}),
        "Sunita Ravel": ("on_track", 14, {"rtt_code": 11, "clock_number": 2}),
        "Archie Pendle": ("at_risk", 100, {"rtt_code": 11, "clock_number": 2}),
        "Mabel Forsyth": ("on_track", 50, {"clock_number": 1}),  # running despite a DTT
        "Ffion Castell": (
            "stopped",
            30,
            {"breached": False, "ended_by": "active_monitoring_clinician"},
        ),
    },
    "cancer_62_upgrade": {
        "Dorothy Kilbride": ("breached", 70, {}),
        "Samuel Achterberg": ("at_risk", 57, {"days_to_breach": 6}),
        "Winifred Sallow": ("at_risk", 25, {"pathway_type": "cancer_fds"}),
        "Ioan Beddoe": ("on_track", 20, {}),  # the 62-day clock starts at the upgrade
        "Zara Whitcombe": ("stopped", 60, {"breached": False}),  # treated in time
        "Peter Lindqvist": ("ended", 30, {"breached": False, "ended_by": "cancer_ruled_out"}),
        "Gideon Marlowe": ("on_track", 46, {"adjusted_days": 14}),  # day 60 less 14
    },
    "long_waiters": {
        "Harriet Voss": ("breached", 735, {"long_wait_weeks": 104}),
        "Edmund Caird": ("breached", 550, {"long_wait_weeks": 78}),
        "Lowri Prothero": ("breached", 460, {"long_wait_weeks": 65}),
        "Gareth Mellor": ("breached", 370, {"long_wait_weeks": 52}),
        "Ada Rushworth": ("breached", 300, {"long_wait_weeks": None}),  # not past 52 weeks
        "Kwame Asante": ("stopped", 395, {"long_wait_weeks": 52}),  # treated after 52+ weeks
    },
    "diagnostic_six_weeks": {
        "Nora Blackett": ("breached", 45, {}),
        "Felix Amadi": ("at_risk", 38, {"days_to_breach": 4}),
        "Iris Cheng": ("on_track", 12, {}),
        "Dominic Yelland": ("stopped", 15, {"ended_by": "test_performed"}),
        "Olwen Pryce": ("on_track", 10, {"reset_by": "dna_first_appointment"}),
    },
}


def test_every_original_scenario_patient_is_in_the_key_table() -> None:
    for key in ORIGINAL:
        assert set(KEYS[key]) == {p.name for p in SCENARIOS[key].patients}, key
        for name in KEYS[key]:
            assert name.split()[0] in SCENARIOS[key].answer_key, (key, name)


@pytest.mark.parametrize("key", ORIGINAL)
@pytest.mark.parametrize("today", IMPORT_DAYS, ids=str)
def test_every_answer_key_figure_is_the_engines(key: str, today: dt.date) -> None:
    states = clocks(key, today)
    for name, (status, days, facts) in KEYS[key].items():
        s = states[name]
        assert (s.status, s.days_waited) == (status, days), (key, name)
        for attr, value in facts.items():
            assert getattr(s, attr) == value, (key, name, attr)
    key_text = SCENARIOS[key].answer_key
    for name, (_, days, _) in KEYS[key].items():
        if f"{name} (day " in key_text:
            assert f"{name} (day {days}" in key_text, (key, name)


# Each quiz question's correct option, worked out from the engine's clocks (or, for the
# questions about a rule rather than a patient, from the engine itself).
Solver = Callable[[dict[str, ClockState], tuple[str, ...]], str]


def _only(options: tuple[str, ...], states: dict[str, ClockState], test) -> str:
    """The one option naming a patient whose clock passes `test`."""
    hits = [o for o in options if o in states and test(states[o])]
    assert len(hits) == 1, hits
    return hits[0]


def _fds_after_dna_and_rebooking() -> str:
    start, dna, rebook = dt.date(2025, 1, 6), dt.date(2025, 1, 13), dt.date(2025, 1, 15)
    s = evaluate(
        "cancer_fds",
        start,
        [Event(dna, "dna_first_appointment"), Event(rebook, "new_clock")],
        dt.date(2025, 1, 20),
    )
    assert s.running and s.clock_start == rebook
    return "It carries on, and restarts from the date they rebook"


def _fds_stops(options: tuple[str, ...]) -> str:
    words = {
        "Telling the patient their diagnosis or that cancer is ruled out": (
            "diagnosis_communicated",
            "cancer_ruled_out",
        ),
        "The first outpatient appointment": ("activity",),
        "The decision to treat": ("decision_to_treat",),
    }
    assert set(words) == set(options)
    hits = [
        o for o, kinds in words.items() if all(effect_of(k, "cancer_fds") == "stops" for k in kinds)
    ]
    assert len(hits) == 1
    return hits[0]


def _more_than_78_weeks_from() -> str:
    start = dt.date(2022, 1, 3)
    for days in range(540, 560):
        s = evaluate("rtt", start, [], start + dt.timedelta(days=days))
        if s.long_wait_weeks == 78:
            return str(days)
    raise AssertionError("no 78-week threshold")


def _day_42_fails() -> str:
    start = dt.date(2025, 1, 6)
    s = evaluate("diagnostic", start, [], start + dt.timedelta(days=42))
    return "Yes: 6 weeks or more fails" if s.breached else "No: it fails from day 43"


SOLVERS: dict[tuple[str, int], Solver] = {
    ("rtt_breach_triage", 0): lambda s, o: _only(o, s, lambda c: c.status == "breached"),
    ("rtt_breach_triage", 1): lambda s, o: _only(o, s, lambda c: c.days_to_breach == 1),
    ("rtt_breach_triage", 2): lambda s, o: (
        "Stopped after the 18-week standard"
        if s["Gwen Ashdown"].status == "stopped" and s["Gwen Ashdown"].breached
        else "?"
    ),
    ("dna_nullification", 0): lambda s, o: _only(o, s, lambda c: c.status == "nullified"),
    ("dna_nullification", 1): lambda s, o: str(s["Rhys Penhallow"].rtt_code),
    ("dna_nullification", 2): lambda s, o: _fds_after_dna_and_rebooking(),
    ("active_monitoring", 0): lambda s, o: str(s["Sunita Ravel"].rtt_code),
    ("active_monitoring", 1): lambda s, o: (
        o[1]
        if s["Mabel Forsyth"].running and effect_of("decision_to_treat", "rtt") == "continues"
        else "Yes"
    ),
    ("active_monitoring", 2): lambda s, o: STATUSES[s["Archie Pendle"].status],
    ("active_monitoring", 3): lambda s, o: (
        "It stops: active monitoring is a first treatment"
        if s["Ffion Castell"].status == "stopped" and s["Ffion Castell"].reported
        else "?"
    ),
    ("cancer_62_upgrade", 0): lambda s, o: f"Day {s['Ioan Beddoe'].days_waited}",
    ("cancer_62_upgrade", 1): lambda s, o: _only(o, s, lambda c: c.status == "breached"),
    ("cancer_62_upgrade", 2): lambda s, o: _fds_stops(o),
    ("cancer_62_upgrade", 3): lambda s, o: str(s["Gideon Marlowe"].adjusted_days),
    ("long_waiters", 0): lambda s, o: str(s["Gareth Mellor"].weeks_waited),
    ("long_waiters", 1): lambda s, o: _more_than_78_weeks_from(),
    ("long_waiters", 2): lambda s, o: max((n for n in o if n in s), key=lambda n: s[n].days_waited),
    ("diagnostic_six_weeks", 0): lambda s, o: _day_42_fails(),
    ("diagnostic_six_weeks", 1): lambda s, o: (
        f"Day {s['Olwen Pryce'].days_waited}: the DNA reset the clock"
    ),
}


def test_every_original_quiz_question_has_a_solver() -> None:
    expected = {(k, i) for k in ORIGINAL for i in range(len(SCENARIOS[k].questions))}
    assert set(SOLVERS) == expected


@pytest.mark.parametrize("today", IMPORT_DAYS, ids=str)
@pytest.mark.parametrize(("key", "index"), sorted(SOLVERS), ids=lambda v: str(v))
def test_every_quiz_answer_is_the_engines(key: str, index: int, today: dt.date) -> None:
    question = SCENARIOS[key].questions[index]
    answer = SOLVERS[(key, index)](clocks(key, today), tuple(question.options))
    assert answer in question.options, (question.question, answer)
    assert question.options[question.correct] == answer, question.question


def test_a_decision_to_treat_answer_does_not_say_only_treatment_stops_a_clock() -> None:
    """Revision 2: active monitoring, a decision not to treat, a discharge... also stop an RTT
    clock, and after active monitoring a decision to treat *starts* one: "only the start of
    treatment" stops a clock was wrong twice over."""
    q = SCENARIOS["active_monitoring"].questions[1]
    said = " ".join(q.options) + (q.explanation or "")
    assert "only the start of treatment" not in said
    assert "active monitoring" in (q.explanation or "") and "(11)" in (q.explanation or "")
