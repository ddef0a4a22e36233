"""`python -m bot staff add|remove|list`: the operator's way to name tutors and admins."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from storage.db import Database
from storage.links import StaffRepository

ROOT = Path(__file__).resolve().parent.parent


async def run_cli(dsn: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DATABASE"))}
    env["DATABASE_URL"] = dsn
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "staff", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_staff_add_list_remove(db: Database, db_dsn: str) -> None:
    code, out, _ = await run_cli(db_dsn, "list")
    assert code == 0 and "No staff yet" in out
    code, out, _ = await run_cli(db_dsn, "add", " Tess.Tutor@Uni.AC.uk ", "--role", "tutor")
    assert code == 0 and "tess.tutor@uni.ac.uk added as tutor." in out
    assert await StaffRepository(db).role_of("tess.tutor@uni.ac.uk") == "tutor"
    code, out, _ = await run_cli(db_dsn, "add", "tess.tutor@uni.ac.uk", "--role", "admin")
    assert code == 0 and "changed from tutor to admin" in out
    code, out, _ = await run_cli(db_dsn, "list")
    assert code == 0 and "admin  tess.tutor@uni.ac.uk" in out
    code, _, err = await run_cli(db_dsn, "add", "not-an-email")
    assert code == 2 and "not a valid email address" in err and "Traceback" not in err
    code, _, err = await run_cli(db_dsn, "add")
    assert code == 2 and "needs an EMAIL" in err
    code, out, _ = await run_cli(db_dsn, "remove", "TESS.TUTOR@uni.ac.uk")
    assert code == 0 and "removed from staff" in out
    code, _, err = await run_cli(db_dsn, "remove", "tess.tutor@uni.ac.uk")
    assert code == 1 and "is not staff" in err
    assert await StaffRepository(db).list() == []


async def test_the_readmes_staff_commands_work_as_written(db: Database, db_dsn: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^python -m bot staff (.+)$", readme, re.M)
    inline = re.findall(r"`python -m bot staff (add EMAIL \w+)`", readme)
    assert len(lines) >= 4 and inline, "the README shows how to add staff"
    for line in lines:
        code, out, err = await run_cli(db_dsn, *line.split())
        assert code == 0, (line, out, err)
    # The inline form, with a real address in place of EMAIL.
    code, out, _ = await run_cli(db_dsn, *inline[0].replace("EMAIL", "tara@uni.ac.uk").split())
    assert code == 0 and "tara@uni.ac.uk added as tutor." in out
    assert await StaffRepository(db).list() == [
        ("ops@uni.ac.uk", "admin"),
        ("tara@uni.ac.uk", "tutor"),
    ]


async def test_the_role_as_a_word_or_an_option_means_the_same(db: Database, db_dsn: str) -> None:
    code, out, _ = await run_cli(db_dsn, "add", "ann@uni.ac.uk", "admin")
    assert code == 0 and "added as admin" in out
    code, out, _ = await run_cli(db_dsn, "add", "ann@uni.ac.uk", "--role", "admin")
    assert code == 0 and "already admin" in out
    code, _, err = await run_cli(db_dsn, "add", "ann@uni.ac.uk", "tutor", "--role", "admin")
    assert code == 2 and "pick one" in err
    code, _, err = await run_cli(db_dsn, "add", "ann@uni.ac.uk", "teacher")
    assert code == 2 and "invalid choice" in err and "Traceback" not in err
    code, out, _ = await run_cli(db_dsn, "--help")
    assert code == 0 and "staff {add,remove,list} [EMAIL] [tutor|admin]" in out
