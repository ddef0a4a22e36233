"""Start-up problems end with one clear line and exit status 2, never a traceback
(issue 14, point 5): a Bot API server answering getMe in an unexpected shape, a refusal
other than the token's, and a start-up hook that fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.offline import OfflineBotAPI, _ApiError
from tests.fake_bot_api import FakeBotAPIServer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAFakeTokenForProcessTests_0123456789abc"


class OddGetMe(OfflineBotAPI):
    """A Bot API server whose getMe answer is not what Telegram sends."""

    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer

    def _api_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _run(db_dsn: str, telegram: FakeBotAPIServer, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTL_", "WEBHOOK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db_dsn,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        VERIFIER="console",
        PTL_DATA_DIR=str(tmp / "data"),
        LOG_LEVEL="INFO",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--mode", "polling"],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    "answer",
    [
        [],  # a list where a user object belongs
        {"id": "not-a-number"},  # a user without its fields
        _ApiError(400, "Bad Request: method is disabled"),
        _ApiError(403, "Forbidden: bots are not welcome here"),
    ],
    ids=["list", "partial-user", "400", "403"],
)
def test_an_unexpected_get_me_answer_is_one_line_and_exit_2(
    db_dsn: str, tmp_path: Path, answer: Any
) -> None:
    with FakeBotAPIServer(OddGetMe(answer)) as telegram:
        done = _run(db_dsn, telegram, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "Start-up stopped" in line]
    assert len(lines) == 1 and "getMe" in lines[0] and telegram.base_url in lines[0], output
    assert TOKEN not in output


async def test_a_failing_start_up_hook_is_named() -> None:
    from telegram.ext import ApplicationBuilder

    from bot.hooks import StartupHookError, add_startup_hook, run_startup_hooks

    app = ApplicationBuilder().token(TOKEN).build()

    async def rebuild_jobs(application: Any) -> None:
        raise KeyError("result")

    add_startup_hook(app, rebuild_jobs)
    with pytest.raises(StartupHookError, match=r"rebuild_jobs failed \(KeyError"):
        await run_startup_hooks(app)
