"""Configuration errors are one clear message and exit status 2; the CLI is wired up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DATABASE"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_defaults_are_london_and_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(_env_file=None)
    assert settings.timezone == "Europe/London"
    assert settings.database_url is None
    assert settings.db_statement_cache_size == 100


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: expected an IANA time zone"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: expected a URL starting postgresql://"),
        ("DB_POOL_MAX_SIZE", "lots", "DB_POOL_MAX_SIZE"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN: expected a token"),
    ],
)
def test_bad_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert expected in str(caught.value)
    assert value not in str(caught.value) or variable == "TIMEZONE"


def test_cli_bad_config_exits_2_without_traceback() -> None:
    secret = "123456:this-is-a-secret-that-must-not-print"
    result = _run("migrate", env={"TIMEZONE": "Nowhere/Land", "TELEGRAM_BOT_TOKEN": secret})
    assert result.returncode == 2
    assert "TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr + result.stdout


def test_cli_run_without_token_points_to_console(tmp_path: Path) -> None:
    result = _run("run", env={"PTL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "python -m bot console" in result.stderr


@pytest.mark.parametrize("command", ["run", "migrate", "console"])
def test_every_subcommand_has_help(command: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout
