"""Every clock on every screen, said right (issue 15 point 7, issue 12 items 9-11).

One module (`bot/messages/clock.py`) formats a clock for every screen. These tests build,
with the real rules engine, every status each pathway type can reach (on track, at risk,
breached, stopped within and after the standard, ended, nullified, transferred, and an open
treatment adjustment), render each on every screen that shows a clock (the one-line clock,
the PTL list line, the card, the digest, the confirm step's "what changes", the event
picker's effect, /validate's "what the patient still needs" and its findings) and read the
sentences for the faults a student once saw:

* "1 weeks", "1 days" (wrong plurals);
* "breached 18 weeks" (reads as "by 18 weeks"): a stopped clock says "after the 18-week
  standard (day N)";
* "Standard: 41 days" for DM01 (every screen says 6 weeks);
* internal names (``cancer_fds``, ``treatment_started``) reaching a person;
* a nullified card showing an RTT band or a breach date beside "doesn't count";
* a consistent record of a breached, untreated patient answered with only "Nothing to fix".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.messages import clock as words
from bot.messages.reminders import _item_line
from bot.rules.digest import DigestItem
from bot.rules.pathway import PATHWAY_TYPES, STATUSES, ClockState, Event, evaluate, kinds_offered
from bot.rules.records import event_entry
from bot.rules.validator import validate
from bot.runtime.offline import html_to_plain
from bot.services.ptl_view import build_entries, evaluate_patient
from handlers.card import render_card
from handlers.ptl import entry_line
from storage.models import Patient
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link

TYPES = list(PATHWAY_TYPES)
WAITS = (0, 1, 6, 7, 8, 13, 14, 20, 27, 28, 29, 35, 41, 42, 43, 60, 62, 63, 100, 115, 126, 127,
         200, 365, 400, 546, 547, 600, 728, 729, 800)  # fmt: skip
"""Waits that cross every band edge, standard and long-wait threshold."""

# Faults and what they look like in a sentence a person reads.
ONE_WEEKS = re.compile(r"(?<![-\d])\b1 weeks\b")  # "0-1 weeks" is a band
ONE_DAYS = re.compile(r"\b1 days\b")
BREACHED_BY = re.compile(r"breached \d+ weeks")
STANDARD_IN_DAYS = re.compile(r"Standard: 4[12] days")  # DM01 is "6 weeks"
INTERNAL = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")  # snake_case: a key, never a word


def _histories(ptype: str) -> Iterator[tuple[str, dt.date, list[Event]]]:
    """(what it is, clock start, events) for every status this pathway type can reach."""
    for wait in WAITS:
        yield f"running {wait}", TODAY - timedelta(days=wait), []
    for kind in kinds_offered(ptype):
        for wait, at in ((60, 30), (300, 280), (140, 139)):
            start = TODAY - timedelta(days=wait)
            yield f"{kind} on day {at}", start, [Event(start + timedelta(days=at), kind)]
    start = TODAY - timedelta(days=40)
    dna = Event(start + timedelta(days=10), "dna_first_appointment", 0)
    rebooked = Event(start + timedelta(days=15), "new_clock", 1)
    yield "dna then rebooking", start, [dna, rebooked]
    declined = Event(start + timedelta(days=20), "admission_offer_declined", 0)
    available = Event(start + timedelta(days=27), "patient_available", 1)
    yield "adjustment open", start, [declined]
    yield "adjustment closed", start, [declined, available]


def _states(ptype: str) -> list[tuple[str, dt.date, list[Event], ClockState]]:
    out = []
    for what, start, events in _histories(ptype):
        state = evaluate(ptype, start, events, TODAY)
        out.append((what, start, events, state))
    return out


def _patient(ptype: str, start: dt.date, events: list[Event]) -> Patient:
    """A row as stored (events in the platform's shape), never written anywhere."""
    raw: list[dict[str, object]] = []
    for e in events:
        raw.append(event_entry(e.kind, e.date, added_by="sam@student.example", previous=raw,
                               pathway_type=ptype, clock_start=start, today=TODAY))  # fmt: skip
    return Patient(
        id=1,
        patient_id="PT-1",
        user_email="sam@student.example",
        patient_name="Jane Doe",
        pathway_type=ptype,
        referral_date=start,
        clock_start_date=start,
        events=raw,
    )


def _faults(text: str) -> list[str]:
    plain = html_to_plain(text) if "<" in text else text
    found = []
    for name, pattern in (
        ("1 weeks", ONE_WEEKS),
        ("1 days", ONE_DAYS),
        ("breached N weeks", BREACHED_BY),
        ("standard in days", STANDARD_IN_DAYS),
    ):
        if pattern.search(plain):
            found.append(name)
    internal = [w for w in INTERNAL.findall(plain) if w != "PT-1"]
    if internal:
        found.append(f"internal name {internal}")
    return found


def test_every_status_is_reached_on_every_pathway_type() -> None:
    """The renders below would prove little if some status were never built."""
    for ptype in TYPES:
        seen = {s.status for *_, s in _states(ptype)}
        expected = set(STATUSES) - ({"ended"} if ptype == "rtt" else {"nullified"})
        assert expected <= seen, (ptype, expected - seen)
        if ptype in ("cancer_62", "cancer_31"):
            assert any(s.running and s.breach_date is None for *_, s in _states(ptype))


@pytest.mark.parametrize("ptype", TYPES)
def test_every_clock_on_every_screen_is_free_of_the_old_faults(ptype: str) -> None:
    before_any = evaluate(ptype, TODAY - timedelta(days=60), [], TODAY)
    for what, start, events, state in _states(ptype):
        patient = _patient(ptype, start, events)
        card, _ = render_card(patient, evaluate_patient(patient, TODAY), TODAY)
        (entry,) = build_entries([patient], TODAY, None)
        screens = {
            "line": words.clock_line(state),
            "when": words.ptl_when(state),
            "card block": "\n".join(words.card_lines(state)),
            "card": card,
            "ptl row": entry_line(1, entry, TODAY),
            "needs": words.what_is_needed(state) or "",
        }
        if state.running:  # the digest lists running clocks only
            section = "long_wait" if state.long_wait_weeks else (
                "breached" if state.status == "breached" else "due_soon"
            )  # fmt: skip
            item = DigestItem("PT-1", "Jane Doe", "Urology", ptype, state, section)
            screens["digest"] = _item_line(1, item, TODAY)
        if events:
            earlier = evaluate(ptype, start, events[:-1], TODAY)
            screens["change"] = "\n".join(
                words.describe_change(earlier, state, new_event=len(events) - 1)
            )
            screens["effect"] = words.effect_today(earlier, state, len(events) - 1)
        else:
            screens["change"] = "\n".join(words.describe_change(before_any, state))
        for screen, text in screens.items():
            assert not _faults(text), (ptype, what, screen, _faults(text), text)
        plain_card = html_to_plain(card)
        if state.status == "nullified":
            # "This wait doesn't count": so no band, no standard, no breach date beside it.
            assert "doesn't count" in plain_card, what
            assert "RTT band" not in plain_card and "breach" not in plain_card.lower(), what
        if state.status == "stopped":
            assert ("within the" in plain_card) or ("after the" in plain_card), what
        if ptype == "diagnostic" and state.running and state.breach_date is not None:
            assert "Standard: 6 weeks" in plain_card, what
        if ptype != "rtt":
            # Cancer and DM01 waits don't use RTT status codes (issue 12 item 9).
            assert "(code " not in plain_card and "RTT band" not in plain_card, (what, card)


def test_a_stopped_clock_says_after_the_standard_with_its_day() -> None:
    start = TODAY - timedelta(days=300)
    late = evaluate("rtt", start, [Event(start + timedelta(days=275), "treatment_started")], TODAY)
    line = html_to_plain(words.clock_line(late))
    assert "after the 18-week standard (day 275) ✖" in line
    assert "breached 18 weeks" not in line and "treated in 275 days" not in line


def test_one_week_is_one_week() -> None:
    state = evaluate("rtt", TODAY - timedelta(days=7), [], TODAY)
    assert words.waited(state) == "1 week waited (7 days)"
    assert words.waited(evaluate("rtt", TODAY - timedelta(days=1), [], TODAY)) == "1 day waited"


def test_the_diagnostic_standard_is_six_weeks_on_the_card() -> None:
    state = evaluate("diagnostic", TODAY - timedelta(days=10), [], TODAY)
    block = html_to_plain("\n".join(words.card_lines(state)))
    assert "Standard: 6 weeks" in block and "41 days" not in block


def test_validator_findings_name_no_internal_keys() -> None:
    """Every finding the validator can give on these histories reads as English."""
    for ptype in TYPES:
        for what, start, events, _ in _states(ptype):
            for finding in validate(ptype, start, events, TODAY, referral_date=start):
                assert not _faults(finding.message), (ptype, what, finding.message)
    (unknown,) = validate("bariatric", TODAY - timedelta(days=3), [], TODAY)
    assert not _faults(unknown.message), unknown.message
    assert "18-week RTT" in unknown.message


# -- /validate on a consistent record of a patient who has breached --------------------------


async def test_validate_a_breached_untreated_patient_says_consistent_and_breached(
    bot: Bot,
) -> None:
    await link(bot)
    await add_patient(bot, "Brenda Breach", TODAY - timedelta(days=140))
    sam = bot.user(901)
    (reply,) = await sam.send("/validate brenda")
    text = reply.text
    assert "the record is consistent" in text
    assert "has breached the 18-week standard (day 140)" in text
    assert "still needs treating" in text
    assert not text.rstrip().endswith("Nothing to fix.")
    # The whole PTL: consistent records, but one patient has breached.
    await add_patient(bot, "Clara Clean", TODAY - timedelta(days=5))
    (reply,) = await sam.send("/validate")
    assert "the records are consistent" in reply.text
    assert "1 patient has breached and still needs treating" in reply.text


async def test_validate_a_clean_on_track_patient_still_says_nothing_to_fix(bot: Bot) -> None:
    await link(bot)
    await add_patient(bot, "Clara Clean", TODAY - timedelta(days=5))
    (reply,) = await bot.user(901).send("/validate clara")
    assert "Nothing to fix" in reply.text and "breached" not in reply.text
