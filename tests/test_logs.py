"""Logs are readable, optionally JSON, and never carry tokens, codes, emails or NHS numbers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.runtime.logs import REDACTOR, Redactor, setup_logging
from storage.db import Database
from tests import harness

TOKEN = "7123456789:AAHk3j2l1k2j3l4k5j6l7k8j9l0kAbCdEfG"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The bot's real root handler, writing to a buffer; restored afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    before_level, before_handlers = root.level, list(root.handlers)
    setup_logging("DEBUG", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in before_handlers:
            root.removeHandler(handler)
    root.setLevel(before_level)


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates", TOKEN),
        (f"token={TOKEN}", TOKEN),
        (
            "url encoded https://api.telegram.org/bot7123456789%3AAAHk3j2l1k2j3l4k5j6l7k8j9l0kAbC",
            "AAHk3j2l1k2j3l4k5j6l7k8j9l0kAbC",
        ),
        ("Linked sam.smith+ptl@student.example.ac.uk to chat 42", "sam.smith+ptl@student.example"),
        ("Verification code 123456 sent", "123456"),
        ("user typed the code: 654321", "654321"),
        ("OTP=246810", "246810"),
        (
            "connect postgresql://postgres.abcd:Sup3r-S3cret!@aws-0.pooler.supabase.com:5432/postgres",
            "Sup3r-S3cret!",
        ),
        ("NHS number 943 476 5919 rejected", "943 476 5919"),
        ("nhs_number=9434765919", "9434765919"),
        ("stored 943-476-5919 ok", "943-476-5919"),
        ("row 9434765919 updated", "9434765919"),  # checksum-valid: an NHS number
        ("nhs: 1234567890 (invalid, still redacted in an NHS context)", "1234567890"),
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        (
            "key eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLXZhbHVl",
            "eyJhbGciOiJIUzI1NiJ9",
        ),
        ("SMTP_PASSWORD: hunter22", "hunter22"),
        ('{"password": "pa55word"}', "pa55word"),
    ],
)
def test_redactor_removes_secrets_and_personal_details(line: str, secret: str) -> None:
    out = Redactor()(line)
    assert secret not in out, out


@pytest.mark.parametrize(
    "line",
    [
        "Processed update 123456789 in 12 ms",
        "chat 7000000001 replied",  # a Telegram id failing the NHS checksum stays readable
        "Applied 3 migration(s)",
        "HTTP/1.1 200 OK",
        "error code 404 from server",  # short numbers after 'code' are kept
    ],
)
def test_redactor_keeps_ordinary_lines(line: str) -> None:
    assert Redactor()(line) == line


def test_configured_secrets_are_redacted_whatever_their_shape() -> None:
    settings = harness.test_settings(
        telegram_bot_token=TOKEN,
        webhook_secret="short-but-secret-xyz",
        database_url="postgresql://bot:plain@db.example:5432/postgres",
        smtp_password="correct horse battery",
    )
    redactor = Redactor()
    redactor.add_secrets_from(settings)
    line = "secret short-but-secret-xyz; smtp said correct horse battery; dsn pw plain@"
    out = redactor(line)
    assert "short-but-secret-xyz" not in out
    assert "correct horse battery" not in out


def test_root_handler_redacts_third_party_loggers(log_stream: io.StringIO) -> None:
    # httpx logs request URLs (with the bot token) at INFO: the root handler must catch it.
    logging.getLogger("httpx").warning(
        'HTTP Request: POST https://api.telegram.org/bot%s/sendMessage "HTTP/1.1 200 OK"', TOKEN
    )
    logging.getLogger("bot.verify").info("Sent code %s to %s", "482913", "amy@uni.example")
    logging.getLogger("storage").info("patient NHS %s saved", "943 476 5919")
    out = log_stream.getvalue()
    assert TOKEN not in out and "482913" not in out and "amy@uni.example" not in out
    assert "943 476 5919" not in out
    assert "[bot-token]" in out and "[email]" in out and "[nhs-number]" in out
    assert "httpx" in out and "WARNING" in out  # still readable


def test_tracebacks_are_redacted(log_stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"could not reach https://api.telegram.org/bot{TOKEN}/getMe for x@y.org")
    except RuntimeError:
        logging.getLogger("bot").exception("Failed")
    out = log_stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out
    assert TOKEN not in out and "x@y.org" not in out


def test_json_lines_on_request() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers)
    handler = setup_logging("INFO", json_lines=True, stream=stream)
    try:
        logging.getLogger("handlers.errors").error(
            "Unhandled error [ref %s] for %s", "AB12CD", "jo@example.com", extra={"ref": "AB12CD"}
        )
        try:
            raise ValueError("boom 943 476 5919")
        except ValueError:
            logging.getLogger("bot").exception("with traceback")
    finally:
        root.removeHandler(handler)
        for h in before:
            if h not in root.handlers:
                root.addHandler(h)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    first, second = lines
    assert first["level"] == "ERROR" and first["logger"] == "handlers.errors"
    assert first["ref"] == "AB12CD"
    assert first["message"] == "Unhandled error [ref AB12CD] for [email]"
    assert "ValueError" in second["exception"] and "943 476 5919" not in second["exception"]
    assert first["time"].endswith("+00:00")


def test_process_redactor_learns_settings_secrets(log_stream: io.StringIO) -> None:
    secret = "whsec-a1b2c3d4e5f6"
    REDACTOR.add_secret(secret)
    logging.getLogger("tornado").warning("bad header %s", secret)
    assert secret not in log_stream.getvalue()


@pytest.mark.error_reference
async def test_error_handler_gives_the_student_a_reference_and_logs_details_under_it(
    db, log_stream: io.StringIO
) -> None:
    from telegram.ext import CommandHandler

    def setup(app) -> None:  # type: ignore[no-untyped-def]
        async def broken(update, context) -> None:  # type: ignore[no-untyped-def]
            raise RuntimeError("lookup failed for amy@uni.example, NHS 943 476 5919")

        app.add_handler(CommandHandler("broken", broken))

    bot = await harness.make_bot(db, setup=setup)
    try:
        sam = bot.user(501)
        replies = await sam.send("/broken now")
    finally:
        await harness.close_bot(bot)
    assert len(replies) == 1
    message = replies[0].text
    assert "Traceback" not in message and "RuntimeError" not in message
    ref = message.split("reference")[-1].strip().rstrip(".")
    assert len(ref) == 6 and ref.isalnum()
    out = log_stream.getvalue()
    assert f"[ref {ref}]" in out
    assert "command /broken (update" in out and "in chat 501" in out
    assert "RuntimeError" in out  # the detail is in the log...
    assert "amy@uni.example" not in out and "943 476 5919" not in out  # ...scrubbed
    assert "now" not in out.split(f"[ref {ref}]")[1].splitlines()[0]  # no message text


def test_ptb_records_already_shaped_by_the_ptb_filter_are_still_scrubbed(
    log_stream: io.StringIO,
) -> None:
    # bot/runtime/log_redaction.py filters PTB's own loggers first; the root filter must still run
    # (tracebacks, NHS numbers and passwords are only handled here).
    from bot.runtime import log_redaction

    log_redaction.install()
    try:
        raise RuntimeError("postgresql://bot:hunter2@db.example/x NHS 943 476 5919")
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("No error handlers")
    out = log_stream.getvalue()
    assert "hunter2" not in out and "943 476 5919" not in out and "Traceback" in out


async def test_a_second_poller_gets_advice_not_a_traceback(
    db: Database, log_stream: io.StringIO
) -> None:
    from telegram.error import Conflict

    bot = await harness.make_bot(db)
    try:
        await bot.app.process_error(update=None, error=Conflict("terminated by other getUpdates"))
    finally:
        await harness.close_bot(bot)
    out = log_stream.getvalue()
    assert "another process is polling with this token" in out and "WEBHOOK_URL" in out
    assert "Traceback" not in out


@pytest.mark.parametrize(
    "address",
    [
        "jo.o'brien@example.org",
        "sam/ops=admin@example.org",
        "ana@xn--80ak6aa92e.xn--p1ai",
        "Sam.Smith+PTL@Student.Example.AC.UK",
        "odd{chars}|x~y^z`q@mail.example.com",
        "=cmd|'/c-calc'!a0@example.org",
    ],
)
def test_every_address_the_validator_accepts_is_redacted(address: str) -> None:
    from bot.rules.email_address import check_email

    assert check_email(address).email is not None  # the validator takes it...
    out = Redactor()(f"Linked {address} to chat 42")
    assert "@" not in out and out.startswith("Linked [email]"), out  # ...so logs hide it


@pytest.mark.parametrize(
    "line",
    [
        "Telegram user 123456789: a code was sent via console",
        "Telegram user 7000000001: no new code (too_soon)",
        "Telegram user 5123456: the code is locked after wrong tries",
    ],
)
def test_identity_lines_keep_telegram_ids_readable(line: str) -> None:
    assert Redactor()(line) == line


def test_identity_service_lines_are_worded_to_keep_ids() -> None:
    """Every identity log line names the user before any mention of a code."""
    import inspect
    import re

    from bot.services import identity

    source = inspect.getsource(identity)
    lines = re.findall(r'log\.\w+\(\s*"([^"]*)"', source)
    assert lines
    for template in lines:
        sample = template.replace("%s", "123456789", 1).replace("%s", "x").replace("%d", "1")
        assert Redactor()(sample) == sample, template
