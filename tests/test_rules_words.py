"""Issue 12 "Words": each sentence that once taught the rules wrong, and what it says now.

One test per wording point (numbered as in the issue), each reading the text a student is
shown (an event's meaning in /update, a validator finding, the "no pauses" reply, a prompt)
and failing on the revision-1 sentence. Points 9, 13 and 14 are tested on their own screens:
tests/test_update_picker.py (9), tests/test_add.py, test_forms_fields.py and test_card.py
(13), tests/test_stats.py (14); tests/test_scenarios.py checks 10-12 scenario by scenario.
"""

from __future__ import annotations

import datetime as dt

from bot.rules import nhs_number
from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES, Event, pause_explanation
from bot.rules.scenarios import SCENARIOS
from bot.rules.validator import Finding, validate

D = dt.date
TODAY = D(2025, 6, 2)
START = D(2025, 2, 3)
USC = "Urgent suspected cancer"


def meaning(kind: str, ptype: str) -> str:
    return EVENT_KINDS[kind].meaning_for(ptype)


def findings(ptype: str, events: list[Event], **kw: object) -> list[Finding]:
    return validate(ptype, START, events, TODAY, referral_date=START, **kw)  # type: ignore[arg-type]


def messages(ptype: str, events: list[Event], **kw: object) -> str:
    return "\n".join(f.message for f in findings(ptype, events, **kw))


def test_1_the_no_pauses_sentence_fits_the_pathway_in_front_of_the_student() -> None:
    said = {p: pause_explanation(p) for p in PATHWAY_TYPES}
    assert len(set(said.values())) == len(said)  # not one sentence for all
    assert "1 October 2015" in said["rtt"] and "clinical review" in said["rtt"]
    assert "two" in said["rtt"] and "adjustment" not in said["rtt"]
    for cancer in ("cancer_fds", "cancer_62", "cancer_31"):
        assert "two" in said[cancer] and "adjustment" in said[cancer], cancer
        assert "1 October 2015" not in said[cancer]
    assert "exactly two adjustments" in said["cancer_62"]
    assert "only the treatment adjustment applies here" in said["cancer_31"]
    assert "resets" in said["diagnostic"] and "exactly two adjustments" not in said["diagnostic"]
    # r1 told every student, whatever the pathway, that no clock is ever adjusted.
    assert not any("no adjustments" in s for s in said.values())


def test_2_dna_words_first_appointment_communicated_usc_first_seen_and_dm01() -> None:
    rtt = meaning("dna_first_appointment", "rtt")
    assert "first appointment after the referral" in rtt
    assert "clearly communicated" in rtt
    assert "Urgent suspected cancer" in rtt
    # r1: "A DNA at the very first appointment nullifies ...; urgent suspected cancer
    # clocks carry on."
    assert "very first appointment" not in rtt and "carry on" not in rtt
    for ptype in ("cancer_fds", "cancer_62"):
        assert "first seen adjustment" in meaning("dna_first_appointment", ptype)
    assert "resets the 6-week (DM01) clock" in meaning("dna_first_appointment", "diagnostic")
    # The validator says the same: a later DNA keeps the clock running; USC never nullifies.
    seen = Event(D(2025, 2, 20), "activity", 0)
    later = Event(D(2025, 3, 10), "dna_first_appointment", 1)
    assert "Only a DNA of the first appointment after the referral" in messages(
        "rtt", [seen, later]
    )
    usc = messages("rtt", [Event(D(2025, 2, 20), "dna_first_appointment")], priority=USC)
    assert "Urgent suspected cancer" in usc and "doesn't nullify" in usc


def test_3_new_clock_after_active_monitoring_is_the_decision_to_treat() -> None:
    new = meaning("new_clock", "rtt")
    # r1: "... is fit and ready after active monitoring or for the second side of a
    # bilateral procedure ..."
    assert "fit and ready after active monitoring" not in new
    assert "fit and ready for the second side of a bilateral procedure" in new
    assert "re-referred" in new
    assert "After active monitoring, record the decision to treat instead" in new
    assert "starts a new clock (code 11)" in meaning("decision_to_treat", "rtt")


def test_4_declined_treatment_means_all_treatment_not_a_date() -> None:
    kind = EVENT_KINDS["declined_treatment"]
    assert kind.label == "Declined all treatment"  # r1: "Patient declined treatment"
    rtt = meaning("declined_treatment", "rtt")
    assert "declines all treatment offered" in rtt
    assert "Declining a date is not this" in rtt
    assert "Declining an admission date is not this" in meaning("declined_treatment", "cancer_62")
    assert "Declining a date is not declining treatment" in meaning("patient_cancelled", "rtt")


def test_5_discharge_after_a_later_dna_needs_a_clinicians_judgement() -> None:
    rtt = meaning("discharged", "rtt")
    assert "clinician's judgement" in rtt and "not against the patient's interests" in rtt
    assert "published access policy" in rtt
    seen = Event(D(2025, 2, 20), "activity", 0)
    later = Event(D(2025, 3, 10), "dna_first_appointment", 1)
    said = messages("rtt", [seen, later])
    assert "only if a clinician judges that it is not against their interests" in said
    assert "published access policy" in said


def test_6_active_monitoring_on_cancer_pathways_is_a_first_treatment() -> None:
    for ptype in ("cancer_62", "cancer_31"):
        said = meaning("active_monitoring_patient", ptype)
        assert "is a first treatment" in said or "is a treatment" in said, ptype
        assert "carry on" not in said and "continues" not in said
    monitored = Event(D(2025, 3, 1), "active_monitoring_patient", 0)
    seen_after = Event(D(2025, 4, 1), "activity", 1)
    said = messages("cancer_62", [monitored, seen_after])
    assert "Active monitoring is a first treatment on cancer pathways" in said
    assert "cancer clocks carry on" not in said


def test_7_cancer_subsequent_treatments_have_their_own_31_days() -> None:
    first = Event(D(2025, 3, 1), "treatment_started", 0)
    second = Event(D(2025, 4, 1), "treatment_started", 1)
    said = messages("cancer_62", [first, second])
    assert "each subsequent treatment has its own 31-day clock" in said
    assert "earliest clinically appropriate date" in said
    # RTT's wording is RTT's: no "same course" or bilateral rule on a cancer pathway.
    assert "same course" not in said and "bilateral" not in said
    assert "same course" in messages("rtt", [first, second])
    # A 31-day clock may start on the ECAD after the decision to treat: not "a date is wrong".
    ecad = validate("cancer_31", START, [Event(D(2025, 1, 27), "decision_to_treat")], TODAY)
    assert [f.code for f in ecad] == ["cancer_31_starts_on_ecad"]
    assert ecad[0].severity == "info" and "earliest clinically appropriate date" in ecad[0].message


def test_8_no_follow_up_care_sentence_for_a_decision_to_treat_after_monitoring() -> None:
    monitored = Event(D(2025, 3, 1), "active_monitoring_patient", 0)
    decided = Event(D(2025, 4, 1), "decision_to_treat", 1)
    said = messages("rtt", [monitored, decided])
    assert "off the clock" not in said and "Follow-up care" not in said
    treated = Event(D(2025, 3, 1), "treatment_started", 0)
    seen = Event(D(2025, 4, 1), "activity", 1)
    assert "Follow-up care after first treatment is off the clock" in messages(
        "rtt", [treated, seen]
    )


def _scenario_text() -> str:
    return " ".join(
        [s.teaches + s.answer_key for s in SCENARIOS.values()]
        + [q.question + " ".join(q.options) + (q.explanation or "")
           for s in SCENARIOS.values() for q in s.questions]
    )  # fmt: skip


def test_10_a_stopped_clock_past_day_126_is_not_a_breach_when_reported() -> None:
    texts = _scenario_text()
    assert "breach when reported" not in texts  # r1: "... still counts as a breach when reported"
    assert "measured on patients still waiting" in texts


def test_11_long_waits_are_more_than_78_weeks() -> None:
    texts = _scenario_text()
    assert "78 weeks or more" not in texts and "78+" not in texts and "104+" not in texts
    assert "more than 78 weeks" in texts and "546 days is exactly 78 weeks" in texts


def test_12_code_11_is_the_first_activity_of_a_new_period() -> None:
    meanings = [k.meaning_for(p) + k.label for k in EVENT_KINDS.values() for p in PATHWAY_TYPES]
    texts = " ".join([*meanings, _scenario_text()])
    # r1's quiz: "Code 11: first definitive treatment decided after active monitoring."
    assert "first definitive treatment decided after active monitoring" not in texts
    assert "Code 11 is the first activity of a new RTT period after active monitoring" in texts


def test_15_the_999_range_is_set_aside_for_test_data() -> None:
    refused = nhs_number.validate_for_training("943 476 5919")
    said = refused.message or ""
    assert "set aside for test data" in said
    assert "never issued" not in said
