"""The README tells the truth: every setting is documented, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, re.M))
    assert {name.upper() for name in Settings.model_fields} <= documented


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.+?)\n```", README, re.S)
    run_bot, run_tests = commands[0], commands[1]
    assert run_bot.endswith("python -m bot console")
    assert run_tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
