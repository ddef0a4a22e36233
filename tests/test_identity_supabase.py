"""The Supabase Auth verifier against a local stand-in answering /auth/v1/otp and /verify
with Supabase's documented bodies and error codes, through the real Application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.services.verification import CheckStatus, SendStatus
from bot.services.verification.supabase import SupabaseVerifier
from storage.db import Database
from tests import harness
from tests.fake_supabase import FakeSupabaseAuth, fake_supabase
from tests.harness import Bot

EMAIL = "sam.jones@uni.ac.uk"


@pytest.fixture
def supabase() -> Iterator[FakeSupabaseAuth]:
    with fake_supabase(users={EMAIL, "ola@uni.ac.uk"}) as fake:
        yield fake


@pytest.fixture
async def supa_bot(db: Database, supabase: FakeSupabaseAuth) -> AsyncIterator[Bot]:
    settings = harness.test_settings(
        verifier="supabase", supabase_url=supabase.url, supabase_key=supabase.api_key
    )
    bot = await harness.make_bot(db, settings=settings)
    yield bot
    await harness.close_bot(bot)


async def test_supabase_happy_path(supa_bot: Bot, supabase: FakeSupabaseAuth) -> None:
    sam = supa_bot.user(3001, "Sam")
    await sam.send("/start")
    replies = await sam.send(EMAIL)
    assert "6-digit code" in replies[-1].text
    path, body = supabase.requests[-1]
    assert path == "otp" and body["email"] == EMAIL and body["create_user"] is False
    code = supabase.code_for(EMAIL)
    replies = await sam.send(code)
    assert any("✅ Linked! You're signed in as sam.jones@uni.ac.uk" in r.text for r in replies)
    verify = [b for p, b in supabase.requests if p == "verify"]
    assert verify[-1]["type"] == "email" and verify[-1]["token"] == code
    # The session Supabase handed over was revoked at once.
    assert supabase.requests[-1][0] == "logout"


async def test_supabase_throwaway_clients_never_carry_a_student_session(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    for user_id, email in ((3002, EMAIL), (3003, "ola@uni.ac.uk")):
        user = supa_bot.user(user_id)
        await user.send("/start")
        await user.send(email)
        replies = await user.send(supabase.code_for(email))
        assert any("✅ Linked!" in r.text for r in replies)
    # Every otp/verify call went out with the project key, never a signed-in user's token.
    expected = f"Bearer {supabase.api_key}"
    assert all(auth == expected for path, auth in supabase.authorizations if path != "logout")


async def test_supabase_unknown_address_looks_exactly_like_a_known_one(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    known, unknown = supa_bot.user(3010), supa_bot.user(3011)
    await known.send("/start")
    await unknown.send("/start")
    known_reply = (await known.send("x.known@uni.ac.uk"))[-1]
    supabase.users.add("x.known@uni.ac.uk")  # (added after: the first is answered 422 too)
    unknown_reply = (await unknown.send("y.nobody@uni.ac.uk"))[-1]
    assert known_reply.text.replace("x.known", "EMAIL") == unknown_reply.text.replace(
        "y.nobody", "EMAIL"
    )
    assert "y.nobody@uni.ac.uk" not in supabase.codes  # Supabase answered 422 otp_disabled
    # Any code typed for the unknown address simply "didn't work".
    replies = await unknown.send("123456")
    assert "That code didn't work" in replies[0].text


async def test_supabase_wrong_code_and_rate_limit(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    sam = supa_bot.user(3020)
    await sam.send("/start")
    await sam.send(EMAIL)
    code = supabase.code_for(EMAIL)
    replies = await sam.send("000000" if code != "000000" else "111111")
    assert "That code didn't work" in replies[0].text and "4 tries left" in replies[0].text

    await harness.age_codes(supa_bot.services.db, seconds=61)
    supabase.fail_next("otp", 429, "over_email_send_rate_limit")
    replies = await sam.press("🔁 Send a new code")
    assert any("The email service is busy" in r.text for r in replies)
    # The earlier code is still the live one and still works.
    replies = await sam.send(code)
    assert any("✅ Linked!" in r.text for r in replies)


async def test_supabase_error_codes_map_to_results(supabase: FakeSupabaseAuth) -> None:
    verifier = SupabaseVerifier(supabase.url, supabase.api_key)
    assert (await verifier.send_code(EMAIL, 1)).status is SendStatus.SENT
    supabase.fail_next("otp", 422, "otp_disabled")
    assert (await verifier.send_code(EMAIL, 1)).status is SendStatus.SENT  # indistinguishable
    supabase.fail_next("otp", 429, "over_email_send_rate_limit")
    assert (await verifier.send_code(EMAIL, 1)).status is SendStatus.RATE_LIMITED
    supabase.fail_next("otp", 400, "email_address_not_authorized")
    assert (await verifier.send_code(EMAIL, 1)).status is SendStatus.UNAVAILABLE
    supabase.fail_next("verify", 403, "otp_expired")
    assert (await verifier.check_code(EMAIL, "123456", 1)).status is CheckStatus.WRONG
    supabase.fail_next("verify", 500, "unexpected_failure")
    assert (await verifier.check_code(EMAIL, "123456", 1)).status is CheckStatus.UNAVAILABLE
    assert (await verifier.check_code(EMAIL, supabase.code_for(EMAIL), 1)).status is CheckStatus.OK
    # A wrong API key is a configuration problem, not a wrong code.
    bad = SupabaseVerifier(supabase.url, "not-the-key")
    assert (await bad.send_code(EMAIL, 1)).status is SendStatus.UNAVAILABLE
    # Unreachable Supabase.
    gone = SupabaseVerifier("http://127.0.0.1:9", supabase.api_key, timeout=2)
    assert (await gone.send_code(EMAIL, 1)).status is SendStatus.UNAVAILABLE
    assert (await gone.check_code(EMAIL, "123456", 1)).status is CheckStatus.UNAVAILABLE


async def test_supabase_unavailable_check_does_not_use_up_a_try(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    sam = supa_bot.user(3030)
    await sam.send("/start")
    await sam.send(EMAIL)
    supabase.fail_next("verify", 503, "service_unavailable")
    replies = await sam.send("000000")
    assert "I couldn't check the code just now" in replies[0].text
    replies = await sam.send("000000" if supabase.code_for(EMAIL) != "000000" else "111111")
    assert "4 tries left" in replies[0].text


async def test_the_reply_never_waits_for_supabase(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    """Issue 14, point 14: Supabase answers unknown addresses sooner than known ones, so the
    student is answered first and the code is sent afterwards. Here Supabase holds a known
    address's send until the student has their reply: it is released, not timed out."""
    import threading

    supabase.hold = threading.Event()
    hold = supabase.hold

    def release(message: Any) -> None:
        if "6-digit code" in message.text:
            hold.set()

    supa_bot.api.listeners.append(release)
    sam = supa_bot.user(3050)
    await sam.send("/start")
    replies = await sam.send(EMAIL)
    assert "6-digit code" in replies[0].text
    assert supabase.held == [True]  # Supabase answered only after the reply had gone
    assert any("✅ Linked!" in r.text for r in await sam.send(supabase.code_for(EMAIL)))


async def test_a_failed_background_send_is_reported(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    sam = supa_bot.user(3051)
    await sam.send("/start")
    supabase.fail_next("otp", 429, "over_email_send_rate_limit")
    replies = await sam.send(EMAIL)
    assert "6-digit code" in replies[0].text
    assert "The email service is busy" in replies[-1].text
    assert replies[-1].button_labels[0] == "🔁 Send a new code"


async def test_a_code_another_account_asked_for_never_completes_yours(
    supa_bot: Bot, supabase: FakeSupabaseAuth
) -> None:
    """Supabase keeps one code per address: after a second account asks, only its request
    can be completed, and the first account is told its code was replaced."""
    first, second = supa_bot.user(3060), supa_bot.user(3061)
    for user in (first, second):
        await user.send("/start")
        await user.send(EMAIL)
    code = supabase.code_for(EMAIL)  # the second request's
    replies = await first.send(code)
    assert "A newer code has been sent to that address" in replies[0].text
    assert await supa_bot.services.links.active_for_user(3060) is None
    assert any("✅ Linked!" in r.text for r in await second.send(code))
