"""A cosmetic call never costs a real reply (issue 14, point 4): a failing sendChatAction
still leaves /stats with its chart and /export with its file, and a failing command menu at
start-up is a warning, not a crash."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from storage.db import Database
from tests import harness
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link

FAILURES = ["retry_after", "network", "not_found", "bad_request"]


@pytest.mark.parametrize("error", FAILURES)
async def test_stats_and_export_survive_a_failing_chat_action(bot: Bot, error: str) -> None:
    await link(bot)
    await add_patient(bot, "Ann Example", TODAY - timedelta(days=40))
    sam = bot.user(901)
    bot.api.fail(sam.chat_id, error, methods={"sendChatAction"})
    stats = await sam.send("/stats")
    assert [m.kind for m in stats][-1] == "photo"
    export = await sam.send("/export")
    assert export[-1].kind == "document" and export[-1].file_name == "ptl-2025-03-03.csv"
    assert len(bot.api.calls_to("sendChatAction")) == 2  # both were tried, both failed


@pytest.mark.parametrize("error", FAILURES)
async def test_a_failing_command_menu_at_start_up_is_a_warning(
    db: Database, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.runtime.offline import OfflineBotAPI

    api = OfflineBotAPI()
    api.fail(None, error, methods={"setMyCommands"})
    with caplog.at_level(logging.WARNING):
        bot = await harness.make_bot(db, api=api)
    try:
        assert any("command menu" in r.getMessage().lower() for r in caplog.records)
        replies = await bot.user(902).send("/help")
        assert replies and "went wrong" not in replies[-1].text
    finally:
        await harness.close_bot(bot)
