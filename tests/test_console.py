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
    console.send("/bin")
    console.expect(r"Your bin is empty")

    # Add a patient through the real /add conversation, pressing buttons by label or number.
    console.send("/add")
    console.expect(r"Step 1 of 9")
    for answer, next_prompt in (
        ("Jane O'Doe", r"Step 2 of 9"),
        ("🎲 Use a test number", r"Step 3 of 9"),
        ("110 Trauma & Ortho", r"Step 4 of 9"),
        ("18-week RTT", r"Step 5 of 9"),
        ("3 Feb 2025", r"Step 6 of 9"),
        ("4 weeks ago · 3 Feb 2025", r"Step 7 of 9"),  # the day the referral arrived
        ("Routine", r"Step 8 of 9"),
        ("Ms A Patel", r"Step 9 of 9"),
        ("Skip »", r"Check and save"),
    ):
        console.send(answer)
        console.expect(next_prompt)
    console.send("✅ Save")
    console.expect(r"Jane O'Doe")  # the card

    console.send("/ptl")
    console.expect(r"^1\. 🟢 Jane O'Doe · 4w · breach 10 Jun 2025 \(99d\) · undated$")
    console.send("1. 🟢 Jane O'Doe")  # tap the patient: the card, edited in place
    console.expect(r"4 weeks waited \(28 days\)")
    console.send("/find jane")
    console.expect(r"ID PTL")

    console.send("/export")
    saved = Path(console.expect(r"\[document saved to (.+\.csv)\]").group(1))
    data = saved.read_bytes()
    assert saved.name == "ptl-2025-03-03.csv" and saved.is_relative_to(tmp_path)
    assert data.startswith(b"\xef\xbb\xbf") and b"Jane O'Doe" in data
    console.send("/stats")
    console.expect(r"Patients: 1 \(1 waiting, 0 closed\)")
    chart = Path(console.expect(r"\[photo saved to (.+)\]").group(1))
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    console.send("/validate")
    console.expect(r"Jane O'Doe.*: this pathway follows the rules\. Nothing to fix\.")

    # Delete from the card, then Undo.
    console.send("/find jane")
    console.expect(r"\[\d+\] 🗑 Delete")
    console.send("🗑 Delete")
    console.expect(r"Delete Jane O'Doe\? It goes to the bin for 30 days")
    console.send("🗑 Yes, delete")
    console.expect(r"Jane O'Doe is in the bin")
    console.send("↩️ Undo")
    console.expect(r"Jane O'Doe is back on your PTL")

    # Another simulated user is a separate, unlinked Telegram account.
    console.send("@kim: /ptl")
    console.expect(r"link your platform account")

    assert console.close() == 0


# The README's "A session to try", typed line by line; after these lines (in this order),
# what must show.
WALKTHROUGH_CHECKS = [
    (":time 08:00", r"clock: Mon 3 Mar 2025 08:00"),
    ("/start", r"send me the email address"),
    ("✅ Save", r"Jane Doe"),
    ("/ptl", r"🔴 Jane Doe"),
    ("jane", r"🔎 Find “jane”"),
    ("@tess: /cohort new Year 1", r"https://t\.me/\S+\?start=join_"),
    ("@tess: 📣 Send", r"✅ Delivered to 1 of 1"),  # the exercise has reached the student
    ("▶️ Start", r"Week 1 started"),
    ("📝 Take the quiz", r"\[quiz\] Which code stops an RTT clock\?"),
    (":vote 2", r"You got 1 of 1 right"),
    ("@tess: /progress", r"Progress: which exercise"),
    ("@tess: 1", r"Question by question"),
    (":time 08:31", r"Breach reminder"),
]


def _readme_session() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("**A session to try**", 1)[1].split("```text\n", 1)[1]
    return block.split("\n```", 1)[0].splitlines()


def test_the_readme_console_session_works_as_written(tmp_path: Path) -> None:
    env = dict(os.environ, PTL_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    env.pop("TELEGRAM_BOT_TOKEN", None)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    staff = re.search(r"`python -m bot (staff add tess@uni\.example tutor)`", readme)
    assert staff, "the session starts by making the tutor staff"
    done = subprocess.run(
        [sys.executable, "-m", "bot", *staff.group(1).split()], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "python -m bot console --today 2025-03-03" in readme
    console = ConsoleProcess(tmp_path, "--today", "2025-03-03")
    try:
        console.expect(r"ptl-bot console", timeout=STARTUP_TIMEOUT)
        link = ""
        checks = list(WALKTHROUGH_CHECKS)
        for line in _readme_session():
            speaker = "@tess: " if line.startswith("@tess: ") else ""
            if "the 6-digit code" in line or "(the code it prints)" in line:
                line = speaker + console.expect(r"code for \S+: (\d{6})").group(1)
            elif "paste the invite link" in line:
                line = link
            console.send(line)
            if checks and checks[0][0] == line:
                found = console.expect(checks.pop(0)[1])
                if line.startswith("@tess: /cohort new"):
                    link = re.search(r"https://t\.me/\S+", found.string).group(0)  # type: ignore[union-attr]
        assert checks == [], "the README session lost some of its steps"
        assert console.close() == 0
    finally:
        console.kill()
    transcript = "".join(console.transcript)
    assert "something went wrong" not in transcript.lower()
    assert "You're listed as a tutor" in transcript
    assert "joined" in transcript
