"""The SMTP verifier end to end: a real SMTP server on loopback, the real Application."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests import harness
from tests.harness import Bot
from tests.smtp_server import Inbox, smtp_server

EMAIL = "sam.jones@uni.ac.uk"


def smtp_settings(port: int, **extra: object) -> object:
    return harness.test_settings(
        verifier="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_from="PTL trainer <ptl-bot@example.org>",
        otp_secret="test-otp-secret-for-hashing",
        **extra,
    )


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with smtp_server() as server:
        yield server


@pytest.fixture
async def smtp_bot(db: Database, inbox: Inbox) -> AsyncIterator[Bot]:
    bot = await harness.make_bot(db, settings=smtp_settings(inbox.port))  # type: ignore[arg-type]
    yield bot
    await harness.close_bot(bot)


async def test_smtp_happy_path_and_the_email(smtp_bot: Bot, inbox: Inbox, db: Database) -> None:
    sam = smtp_bot.user(2001, "Sam")
    await sam.send("/start")
    replies = await sam.send(EMAIL)
    assert "I've asked for a 6-digit code to be sent to <b>sam.jones@uni.ac.uk</b>" in (
        replies[-1].html
    )
    [message] = inbox.to(EMAIL)
    assert message["Subject"] == "Your PTL trainer code"
    assert message["From"] == "PTL trainer <ptl-bot@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert inbox.envelopes[-1] == ("ptl-bot@example.org", [EMAIL])
    plain = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    code = inbox.code_for(EMAIL)
    assert "PTL trainer bot" in plain and "10 minutes" in plain and code in html

    # Only keyed hashes are stored: neither the code nor the email appears in the OTP tables.
    async with db.service() as conn:
        rows = await conn.fetch("select * from ptl_bot.otp_codes")
        challenges = await conn.fetch("select * from ptl_bot.otp_challenges")
    stored = repr([dict(r) for r in rows]) + repr([dict(r) for r in challenges])
    assert rows and challenges
    assert code not in stored and EMAIL not in stored and "sam.jones" not in stored

    replies = await sam.send(code)
    assert any("✅ Linked!" in r.text for r in replies)
    link = await smtp_bot.services.links.active_for_user(2001)
    assert link is not None and link.email == EMAIL


async def test_smtp_wrong_code_then_restart_then_right_code(db: Database, inbox: Inbox) -> None:
    first = await harness.make_bot(db, settings=smtp_settings(inbox.port))  # type: ignore[arg-type]
    sam = first.user(2002, "Sam")
    await sam.send("/start")
    await sam.send(EMAIL)
    code = inbox.code_for(EMAIL)
    wrong = "000000" if code != "000000" else "999999"
    replies = await sam.send(wrong)
    assert "You have 4 tries left." in replies[0].text
    await harness.close_bot(first)

    second = await harness.make_bot(db, settings=smtp_settings(inbox.port))  # type: ignore[arg-type]
    try:
        sam = second.user(2002, "Sam")
        replies = await sam.send(wrong)
        assert "You have 3 tries left." in replies[0].text  # the count survived the restart
        replies = await sam.send(code)
        assert any("✅ Linked!" in r.text for r in replies)
    finally:
        await harness.close_bot(second)


async def test_smtp_refused_recipient_is_explained_and_costs_nothing(
    smtp_bot: Bot, inbox: Inbox
) -> None:
    inbox.refuse_recipients.add("nobody@uni.ac.uk")
    sam = smtp_bot.user(2003)
    await sam.send("/start")
    replies = await sam.send("nobody@uni.ac.uk")
    assert "wouldn't accept <b>nobody@uni.ac.uk</b> as an address" in replies[-1].html
    # A failed send does not count towards the limits: the right address goes at once.
    replies = await sam.send(EMAIL)
    assert "6-digit code" in replies[-1].text
    assert inbox.code_for(EMAIL)


async def test_smtp_temporary_failure_and_unreachable_relay(db: Database, inbox: Inbox) -> None:
    inbox.fail_data_with = "451 4.7.1 Rate limited, try again later"
    bot = await harness.make_bot(db, settings=smtp_settings(inbox.port))  # type: ignore[arg-type]
    try:
        sam = bot.user(2004)
        await sam.send("/start")
        replies = await sam.send(EMAIL)
        assert "The email service is busy and didn't send a code" in replies[-1].text
        assert "in a few minutes" in replies[-1].text
        inbox.fail_data_with = None
        replies = await sam.send(EMAIL)
        assert "6-digit code" in replies[-1].text
    finally:
        await harness.close_bot(bot)

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    bot = await harness.make_bot(db, settings=smtp_settings(closed_port))  # type: ignore[arg-type]
    try:
        ola = bot.user(2005)
        await ola.send("/start")
        replies = await ola.send("ola@uni.ac.uk")
        assert "I couldn't send an email just now" in replies[-1].text
    finally:
        await harness.close_bot(bot)
