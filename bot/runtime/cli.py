"""Command-line entry: `python -m bot [run|migrate|console|...]`.

Each subcommand is a small function; configuration problems end with one clear message and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings, StartupError, load_settings_or_exit

Command = Callable[[argparse.Namespace, Settings], int]


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.database import database_dsn
    from storage.migrations import MigrationError, migrate

    async def go() -> list[str]:
        return await migrate(await database_dsn(settings))

    try:
        applied = asyncio.run(go())
    except MigrationError as exc:
        print(f"Migration refused: {exc}", file=sys.stderr)
        return 1
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("Database is up to date.")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.server import run

    return run(settings, mode=args.mode)


def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.doctor import main as doctor

    return doctor(settings)


def _cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime.console import run_console

    return asyncio.run(run_console(settings, today=args.today))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="ptl-bot: a Telegram companion for PTL training (fictional patients only).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (polling, or webhook when WEBHOOK_URL is set)")
    run.add_argument(
        "--mode",
        choices=("auto", "polling", "webhook"),
        default="auto",
        help="auto (default): webhook when WEBHOOK_URL is set, else polling. The Procfile pins "
        "web to webhook and worker to polling, so the two can never be confused.",
    )
    run.set_defaults(func=_cmd_run)

    migrate = sub.add_parser("migrate", help="apply database migrations from sql/ (idempotent)")
    migrate.set_defaults(func=_cmd_migrate)

    doctor = sub.add_parser(
        "doctor",
        help="check configuration, database, migrations, row-level security and the token",
    )
    doctor.set_defaults(func=_cmd_doctor)

    console = sub.add_parser(
        "console",
        help="chat with the bot in this terminal: no token, no network, embedded database",
    )
    console.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        help="pretend today is this date (Europe/London); the time of day ticks on from now "
        "(:time HH:MM in the console moves it)",
    )
    console.set_defaults(func=_cmd_console)

    from bot.runtime.staff_cli import add_staff_parser

    add_staff_parser(sub)

    from bot.runtime.reminders_cli import add_reminders_parser

    add_reminders_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        args = parser.parse_args(["run", *(argv or sys.argv[1:])])
    settings = load_settings_or_exit()
    # In the console the chat is the output: only warnings and errors interrupt it.
    quiet = args.command == "console" and "LOG_LEVEL" not in os.environ
    from bot.runtime.logs import setup_logging

    setup_logging(
        "WARNING" if quiet else settings.log_level, json_lines=settings.log_json, settings=settings
    )
    try:
        code = args.func(args, settings)
    except StartupError as exc:
        print(str(exc), file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
