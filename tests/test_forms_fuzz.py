"""Generated input, end to end: whatever a student types at any /add step (or at the
/update steps that read text) gets a helpful reply, the form stays where it was or moves
on, Telegram would accept every message, and nothing is written."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime.offline import ChatUser
from tests.forms_support import STEPS, fill_to, linked, no_error, patients, prompt, step_of
from tests.harness import Bot

TYPED = st.one_of(
    st.text(min_size=1, max_size=120),
    st.text(alphabet=st.characters(categories=["So", "Sk", "Cs", "Co"]), min_size=1,
            max_size=10).filter(lambda s: s.isprintable()),  # emoji and symbols
    st.builds(lambda s: f"<b>{s}</b> & <i>x</i>", st.text(max_size=20)),  # HTML-like
    st.builds(lambda n: "x" * n, st.integers(4000, 6000)),  # very long messages
    st.sampled_from(["12/13/2025", "31/02/2025", "tomorrow", "next week", "999 000 0019",
                     "&amp;", "<", "’", "\u200b", "0", "-1", "1e9", "NaN"]),
).filter(lambda s: s != "" and not s.startswith("/"))  # fmt: skip
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _current(sam: ChatUser) -> str | None:
    try:
        return step_of(prompt(sam))
    except AssertionError:  # nothing with buttons yet
        return None


async def _at(sam: ChatUser, step: str) -> None:
    if _current(sam) != step:
        await sam.send("/cancel")
        await fill_to(sam, step)


def _check_add_step(step: str) -> object:
    @FUZZ
    @given(typed=TYPED)
    async def run(bot: Bot, typed: str) -> None:
        sam = bot.user(501)
        if not sam.history:
            await linked(bot)
        await _at(sam, step)
        replies = await sam.send(typed)
        no_error(replies)
        assert replies, "every message gets an answer"
        reached = step_of(replies[-1])
        following = STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else "summary"
        assert reached in (step, following), (typed[:40], replies[-1].text[:200])
        if reached == step:  # refused: the explanation comes first, then the same step
            assert replies[-1].text.split("\n\n")[0] != replies[-1].text
        assert await patients(bot) == []

    return run


test_fuzz_name = _check_add_step("name")
test_fuzz_nhs = _check_add_step("nhs")
test_fuzz_specialty = _check_add_step("spec")
test_fuzz_pathway = _check_add_step("path")
test_fuzz_referral = _check_add_step("ref")
test_fuzz_clock_start = _check_add_step("start")
test_fuzz_priority = _check_add_step("prio")
test_fuzz_consultant = _check_add_step("cons")
test_fuzz_notes = _check_add_step("notes")


@FUZZ
@given(typed=TYPED)
async def test_fuzz_summary(bot: Bot, typed: str) -> None:
    sam = bot.user(501)
    if not sam.history:
        await linked(bot)
    await _at(sam, "summary")
    replies = await sam.send(typed)
    no_error(replies)
    assert step_of(replies[-1]) == "summary"
    assert replies[-1].text.startswith(
        ("Please tap one of the buttons below.", "That contains hidden control characters.")
    )


@FUZZ
@given(typed=TYPED)
async def test_fuzz_update_event_date(bot: Bot, typed: str) -> None:
    """The free-text step of /update that most needs care: an event date."""
    from tests.test_update import add_patient

    sam = bot.user(501)
    if not await patients(bot):
        await linked(bot)
        bot.clock.set(date(2025, 6, 2))
        await add_patient(bot)
    (patient,) = await patients(bot)
    try:
        at_date = "Step 2 of 3" in prompt(sam).text
    except AssertionError:
        at_date = False
    if not at_date:
        await sam.send("/cancel")
        await sam.send(f"/update {patient.patient_id}")
        await sam.press("📌 Record an event")
        await sam.press("20 · First appointment attended")
    replies = await sam.send(typed)
    no_error(replies)
    text = replies[-1].text
    assert "Step 2 of 3" in text or "Step 3 of 3" in text, text[:200]
    (after,) = await patients(bot)
    assert after == patient  # nothing written before Save
