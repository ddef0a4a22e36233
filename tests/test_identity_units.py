"""Email reading, verifier choice, OTP limits in storage, cohorts: the parts under the flow."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.messages.identity import when
from bot.rules.clock import FixedClock
from bot.rules.email_address import check_email, domain_allowed, edit_distance
from bot.runtime.wiring import build_services
from bot.services.verification import VerifierConfigError
from bot.services.verification.console import ConsoleVerifier
from bot.services.verification.smtp import SmtpVerifier
from bot.services.verification.supabase import SupabaseVerifier
from storage.cohorts import is_invite_code, new_invite_code
from storage.db import Database
from storage.otp import OtpRepository, Refusal, SendLimits
from tests import harness

LONDON = ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


# --- email ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "email", "suggestion", "problem"),
    [
        ("  Sam.Jones@Uni.AC.uk. ", "sam.jones@uni.ac.uk", None, None),
        ("mailto:<sam@nhs.net>", "sam@nhs.net", None, None),
        ("sam@gmial.com", "sam@gmial.com", "sam@gmail.com", None),
        ("sam@hotmial.co.uk", "sam@hotmial.co.uk", "sam@hotmail.co.uk", None),
        ("sam@gmail.con", "sam@gmail.con", "sam@gmail.com", None),
        ("sam@yahoo.co", "sam@yahoo.co", "sam@yahoo.com", None),
        ("sam@uni.ac.ku", "sam@uni.ac.ku", "sam@uni.ac.uk", None),
        ("sam@live.ac.uk", "sam@live.ac.uk", None, None),  # institutional: never "corrected"
        ("sam @ gmail.com", None, "sam@gmail.com", "spaces"),
        ("sam at uni.ac.uk", None, "sam@uni.ac.uk", "spaces"),
        ("sam(at)gmail.com", None, "sam@gmail.com", "no_at"),
        ("samgmail.com", None, "sam@gmail.com", "no_at"),
        ("sam.uni.ac.uk", None, None, "no_at"),
        ("not an email", None, None, "no_at"),
        ("sam@@gmail.com", None, "sam@gmail.com", "many_at"),
        ("a@b@c.com", None, None, "many_at"),
        ("sam@gmail", None, "sam@gmail.com", "domain"),
        ("sam@gmail,com", None, "sam@gmail.com", "domain"),
        ("sam@uni..ac.uk", None, "sam@uni.ac.uk", "domain"),
        ("sam..x@uni.ac.uk", None, "sam.x@uni.ac.uk", "local"),
        ("@uni.ac.uk", None, None, "no_local"),
        ("sam@", None, None, "no_domain"),
        ("josé@uni.ac.uk", None, None, "non_ascii"),
        ("", None, None, "empty"),
        ("x" * 65 + "@uni.ac.uk", None, None, "too_long"),
    ],
)
def test_check_email(
    typed: str, email: str | None, suggestion: str | None, problem: str | None
) -> None:
    result = check_email(typed)
    assert (result.email, result.suggestion, result.problem) == (email, suggestion, problem)


def test_allowed_domains_feed_suggestions_and_the_allow_list() -> None:
    assert check_email("sam@unii.ac.uk", ["uni.ac.uk"]).suggestion == "sam@uni.ac.uk"
    assert check_email("sam.uni.ac.uk", ["uni.ac.uk"]).suggestion == "sam@uni.ac.uk"
    allowed = frozenset({"uni.ac.uk"})
    assert domain_allowed("sam@uni.ac.uk", allowed)
    assert domain_allowed("sam@students.uni.ac.uk", allowed)
    assert not domain_allowed("sam@evil-uni.ac.uk", allowed)
    assert not domain_allowed("sam@uni.ac.uk.evil.com", allowed)
    assert domain_allowed("anyone@anywhere.org", frozenset())


@given(st.text(max_size=80))
def test_check_email_never_raises_and_outputs_are_valid(typed: str) -> None:
    result = check_email(typed)
    for candidate in (result.email, result.suggestion):
        if candidate is not None:
            again = check_email(candidate)
            assert again.email == candidate and candidate == candidate.strip().lower()


def test_edit_distance() -> None:
    assert edit_distance("gmial", "gmail") == 1
    assert edit_distance("gmail.com", "gmail.com") == 0
    assert edit_distance("kitten", "sitting") == 3


def test_when_phrases() -> None:
    now = datetime(2025, 3, 3, 12, 0, tzinfo=LONDON)
    assert when(now + timedelta(seconds=42), now) == "in 42 seconds"
    assert when(now + timedelta(seconds=1), now) == "in 1 second"
    assert when(now + timedelta(seconds=61), now) == "in 2 minutes"
    assert when(now + timedelta(minutes=18), now) == "at 12:18 (in 18 minutes)"


# --- choosing the verifier -------------------------------------------------------------------
async def test_make_verifier_choices(db: Database) -> None:
    def services_for(**overrides: object) -> object:
        return build_services(harness.test_settings(**overrides), db)

    assert isinstance(services_for().verifier, ConsoleVerifier)  # type: ignore[attr-defined]
    assert isinstance(services_for(verifier=None).verifier, ConsoleVerifier)  # type: ignore[attr-defined]
    with pytest.raises(VerifierConfigError, match="VERIFIER is not set"):
        services_for(verifier=None, telegram_bot_token=TOKEN)
    with pytest.raises(VerifierConfigError, match="SUPABASE_URL and SUPABASE_KEY"):
        services_for(verifier="supabase")
    with pytest.raises(VerifierConfigError, match="SMTP_HOST and SMTP_FROM"):
        services_for(verifier="smtp")
    with pytest.raises(VerifierConfigError, match="SMTP_PASSWORD"):
        services_for(verifier="smtp", smtp_host="smtp.example.org", smtp_from="a@b.org",
                     smtp_user="bot")  # fmt: skip
    smtp = services_for(verifier="smtp", smtp_host="smtp.example.org", smtp_from="a@b.org")
    assert isinstance(smtp.verifier, SmtpVerifier)  # type: ignore[attr-defined]
    supa = services_for(verifier="supabase", supabase_url="https://x.supabase.co",
                        supabase_key="anon", supabase_should_create_user=True)  # fmt: skip
    assert isinstance(supa.verifier, SupabaseVerifier)  # type: ignore[attr-defined]
    assert supa.verifier.should_create_user is True  # type: ignore[attr-defined]
    # Explicitly chosen console with a token: allowed (development), never silently.
    explicit = services_for(verifier="console", telegram_bot_token=TOKEN)
    assert isinstance(explicit.verifier, ConsoleVerifier)  # type: ignore[attr-defined]


async def test_cli_run_without_verifier_exits_2_with_a_clear_message(db_dsn: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "VERIFIER"))}
    env.update(DATABASE_URL=db_dsn, TELEGRAM_BOT_TOKEN=TOKEN)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 2, err.decode()
    assert "VERIFIER is not set" in err.decode()
    assert "Traceback" not in err.decode() and TOKEN not in err.decode() + out.decode()


async def test_console_verifier_prints_to_the_console_stream(db: Database) -> None:
    clock = FixedClock("2025-03-03")
    out = io.StringIO()
    verifier = ConsoleVerifier(OtpRepository(db), clock, None, output=lambda: out)
    await verifier.send_code("sam@uni.ac.uk", 11)
    line = out.getvalue().strip()
    assert line.startswith("[console verifier] code for s***@uni.ac.uk: ")
    code = line.rsplit(" ", 1)[1]
    assert len(code) == 6 and code.isdigit()
    # The code is the asking account's: the right digits from another account don't work,
    # and its wrong guesses don't burn it.
    for _ in range(6):
        assert (await verifier.check_code("sam@uni.ac.uk", code, 12)).status == "wrong"
    assert (await verifier.check_code("sam@uni.ac.uk", code, 11)).status == "ok"
    assert (await verifier.check_code("sam@uni.ac.uk", code, 11)).status == "wrong"  # used up


async def test_generated_hmac_key_persists_in_the_database(db: Database) -> None:
    first = await OtpRepository(db).hmac_key(None)
    second = await OtpRepository(db).hmac_key(None)  # a "restarted" process
    assert first == second and len(first) >= 48
    assert await OtpRepository(db).hmac_key("configured") == b"configured"


# --- limits in storage --------------------------------------------------------------------
LIMITS = SendLimits(account_interval=timedelta(seconds=60), account_hourly=5, email_hourly=10)
TTL = timedelta(minutes=10)


async def _reserve(otp: OtpRepository, user: int, email: str) -> object:
    result = await otp.reserve(
        telegram_user_id=user, email_hash=email, verifier="console", ttl=TTL, limits=LIMITS
    )
    if not isinstance(result, Refusal):
        await otp.mark_sent(result.id)
    return result


async def test_reserve_limits_per_account_and_per_address(db: Database) -> None:
    otp = OtpRepository(db)
    assert not isinstance(await _reserve(otp, 1, "e1"), Refusal)
    await harness.age_codes(db, seconds=30)
    too_soon = await _reserve(otp, 1, "e2")  # same account, another address
    assert isinstance(too_soon, Refusal) and too_soon.reason == "too_soon"
    assert timedelta(seconds=29) < too_soon.retry_in <= timedelta(seconds=30)
    # Another account may ask for the same address at once: its allowance is its own.
    assert not isinstance(await _reserve(otp, 2, "e1"), Refusal)
    for _ in range(4):
        await harness.age_codes(db, seconds=61)
        assert not isinstance(await _reserve(otp, 1, "e1"), Refusal)
    await harness.age_codes(db, seconds=61)
    capped = await _reserve(otp, 1, "e1")
    assert isinstance(capped, Refusal) and capped.reason == "hourly_cap"
    # Account 3 fills the address's ten: 6 so far (5 from account 1, 1 from account 2).
    for _ in range(4):
        assert not isinstance(await _reserve(otp, 3 + _, "e1"), Refusal)
    full = await _reserve(otp, 9, "e1")
    assert isinstance(full, Refusal) and full.reason == "email_cap"
    assert not isinstance(await _reserve(otp, 9, "e3"), Refusal)  # other addresses unaffected
    await harness.age_codes(db, seconds=3600)
    assert not isinstance(await _reserve(otp, 1, "e1"), Refusal)  # the hour later


async def test_limits_use_the_databases_clock_whatever_the_bot_clock_says(db: Database) -> None:
    """Issue 14, point 13: a row stamped by a replica whose clock runs ahead used to be
    ignored ("in the future"); every stamp and comparison is now Postgres's `now()`."""
    otp = OtpRepository(db)
    assert not isinstance(await _reserve(otp, 1, "e1"), Refusal)
    async with db.service() as conn:  # as if written by a replica five minutes fast
        await conn.execute(
            "update ptl_bot.otp_challenges set created_at = created_at + interval '5 minutes'"
        )
    refused = await _reserve(otp, 1, "e1")
    assert isinstance(refused, Refusal) and refused.reason == "too_soon"
    # The bot's own clock (fixed in 2025 in tests) plays no part in the decision.
    bot = await harness.make_bot(db, today=datetime(2031, 1, 1).date())
    try:
        outcome = await bot.services.otp.next_send_at(
            telegram_user_id=1, email_hash="e1", limits=LIMITS
        )
        assert outcome is not None and outcome.reason == "too_soon"
    finally:
        await harness.close_bot(bot)


async def test_concurrent_reservations_cannot_both_slip_under_the_limit(db: Database) -> None:
    otp = OtpRepository(db)
    results = await asyncio.gather(
        *(
            otp.reserve(
                telegram_user_id=7, email_hash="e", verifier="console", ttl=TTL, limits=LIMITS
            )
            for _ in range(4)
        )
    )
    assert sum(not isinstance(r, Refusal) for r in results) == 1


async def test_parallel_code_checks_cannot_exceed_the_tries(db: Database) -> None:
    otp = OtpRepository(db)
    challenge = await _reserve(otp, 8, "e")
    assert not isinstance(challenge, Refusal)
    attempts = await asyncio.gather(*(otp.spend_attempt(8, "e", max_attempts=5) for _ in range(9)))
    assert sum(a.challenge is not None for a in attempts) == 5


async def test_with_one_code_per_address_only_the_newest_request_completes(db: Database) -> None:
    """Supabase keeps one code per address: once another account asked after you, your
    challenge is superseded (the code in your inbox is the other request's)."""
    otp = OtpRepository(db)
    await _reserve(otp, 1, "e")
    await _reserve(otp, 2, "e")
    first = await otp.spend_attempt(1, "e", max_attempts=5, only_newest_for_email=True)
    assert first.challenge is None and first.why_not == "superseded"
    second = await otp.spend_attempt(2, "e", max_attempts=5, only_newest_for_email=True)
    assert second.challenge is not None and second.challenge.telegram_user_id == 2


# --- cohorts ------------------------------------------------------------------------------
def test_invite_codes_fit_telegram_start_parameters() -> None:
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert is_invite_code(code) and len("join_" + code) <= 64
    assert not is_invite_code("short") and not is_invite_code("bad code!")


async def test_join_is_idempotent_and_rejoins_after_removal(db: Database) -> None:
    services = build_services(harness.test_settings(), db)
    cohort = await services.cohorts.create("Cohort A", "tutor@uni.ac.uk")
    from bot.services.identity import join_cohort

    assert (await join_cohort(services, "Sam@Uni.ac.uk", cohort.invite_code)).status == "joined"
    again = await join_cohort(services, "sam@uni.ac.uk", cohort.invite_code)
    assert again.status == "already_member"
    async with db.service() as conn:
        await conn.execute("update ptl_bot.cohort_members set removed_at = now()")
    assert (await join_cohort(services, "sam@uni.ac.uk", cohort.invite_code)).status == "rejoined"
    own = await join_cohort(services, "tutor@uni.ac.uk", cohort.invite_code)
    assert own.status == "own_cohort"
    async with db.service() as conn:
        await conn.execute("update ptl_bot.cohorts set archived_at = now()")
    assert (await join_cohort(services, "ola@uni.ac.uk", cohort.invite_code)).status == "invalid"
    assert (await join_cohort(services, "ola@uni.ac.uk", "../../etc")).status == "invalid"
    with pytest.raises(ValueError):
        await services.cohorts.create("  ", "tutor@uni.ac.uk")
