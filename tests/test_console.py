"""`python -m bot console` driven through a pipe, as a newcomer would run it.

A real subprocess with PTL_DATA_DIR set to a temporary folder: the embedded Postgres is
created and migrated there, the console verifier prints the linking code, and the test
types it back, exactly like a person at a terminal. Then it uses the PTL features, saves a
CSV and a chart under the data folder, and checks that end of input exits cleanly.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 120.0  # a first run initialises a Postgres cluster
STEP_TIMEOUT = 30.0


class ConsoleProcess:
    """The console in a subprocess, with `send` and `expect` like a terminal session."""

    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.pop("TELEGRAM_BOT_TOKEN", None)
        env["PTL_DATA_DIR"] = str(data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", *extra_args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = STEP_TIMEOUT) -> re.Match[str]:
        """Read output until a line matches `pattern` (a regex); fail with the transcript."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                line = ""
                if remaining <= 0:
                    self.fail(f"timed out waiting for {pattern!r}")
                continue
            if line is None:
                self.fail(f"console exited before {pattern!r}")
            self.transcript.append(line)
            match = regex.search(line)
            if match:
                return match

    def fail(self, why: str) -> None:
        tail = "".join(self.transcript[-60:])
        self.kill()
        pytest.fail(f"{why}\n--- console output (last lines) ---\n{tail}")

    def close(self) -> int:
        """End of input: the console must say goodbye and exit 0."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.expect(r"^Bye\.$")
        return self.proc.wait(timeout=STEP_TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def console(tmp_path: Path):  # type: ignore[no-untyped-def]
    proc = ConsoleProcess(tmp_path, "--today", "2025-03-03")
    yield proc
    proc.kill()


def test_console_links_and_uses_the_ptl(console: ConsoleProcess, tmp_path: Path) -> None:
    console.expect(r"ptl-bot console", timeout=STARTUP_TIMEOUT)
    console.send("/help")
    console.expect(r"/ptl: your PTL")
    console.send("/ptl")  # not linked yet: told what to do, no error
    console.expect(r"link your platform account")

    # Link with the code the console verifier prints, as a newcomer would.
    console.send("/start")
    console.expect(r"send me the email address")
    console.send("sam@student.example")
    code = console.expect(r"code for \S+: (\d{6})").group(1)
    console.send(code)
    console.expect(r"(?i)linked")

    console.send("/menu")
    console.expect(r"\[1\] ➕ Add patient")
    console.send("/ptl")
    console.expect(r"Your PTL is empty")
    console.send("/find smith")
    console.expect(r"No patient on your PTL matches")
    console.send("/stats")
    console.expect(r"your PTL is empty")
    console.send("/bin")
    console.expect(r"Your bin is empty")

    # Another simulated user is a separate, unlinked Telegram account.
    console.send("@kim: /ptl")
    console.expect(r"link your platform account")

    assert console.close() == 0
