"""`python -m bot staff add|remove|list [EMAIL] [tutor|admin]`: who is staff.

The role may be typed as a word after the email (`staff add EMAIL tutor`, as the README
shows) or as `--role tutor`; both mean the same, and tutor is the default.

Why a command and not a rule: a role is a permission, so it is granted by the operator by
name, never inferred from the text of an address ("tutor.smith@..." is a student until
listed). Addresses are checked and normalised like the bot's own linking (trimmed,
lower-case), so the row matches the email a tutor links from Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.config import Settings
from bot.rules.email_address import check_email
from storage.links import StaffRepository


def add_staff_parser(sub: Any) -> None:
    """Register the `staff` subcommand on the CLI's subparsers."""
    roles = "|".join(StaffRepository.ROLES)
    staff = sub.add_parser(
        "staff",
        help="list, add or remove tutors and admins (by platform email)",
        usage=f"python -m bot staff {{add,remove,list}} [EMAIL] [{roles}]",
        description=(
            "Tutors and admins are listed by platform email; roles are never guessed. "
            "Examples: staff add tess@uni.ac.uk tutor · staff add ops@uni.ac.uk admin · "
            "staff list · staff remove tess@uni.ac.uk"
        ),
    )
    staff.add_argument("action", choices=("add", "remove", "list"))
    staff.add_argument("email", nargs="?", help="platform email (add and remove)")
    staff.add_argument(
        "role_word",
        nargs="?",
        choices=StaffRepository.ROLES,
        metavar=roles,
        help="for add: the role (default: tutor); the same as --role",
    )
    staff.add_argument(
        "--role", choices=StaffRepository.ROLES, default=None, help="for add (default: tutor)"
    )
    staff.set_defaults(func=run_staff)


def run_staff(args: argparse.Namespace, settings: Settings) -> int:
    email: str | None = None
    if args.action != "list":
        if not args.email:
            print(f"staff {args.action} needs an EMAIL.", file=sys.stderr)
            return 2
        checked = check_email(args.email)
        if checked.email is None:
            hint = f" Did you mean {checked.suggestion}?" if checked.suggestion else ""
            print(f"{args.email!r} is not a valid email address.{hint}", file=sys.stderr)
            return 2
        if checked.suggestion:
            print(
                f"Note: {checked.email} looks like it could be {checked.suggestion}; "
                "using it exactly as typed.",
                file=sys.stderr,
            )
        email = checked.email
    if args.role_word and args.role and args.role_word != args.role:
        print(f"Two roles given ({args.role_word} and --role {args.role}): pick one.",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.action != "add" and (args.role_word or args.role):
        print(f"A role only goes with staff add, not staff {args.action}.", file=sys.stderr)
        return 2
    role = args.role_word or args.role or "tutor"
    return asyncio.run(_staff(settings, args.action, email, role))


async def _staff(settings: Settings, action: str, email: str | None, role: str) -> int:
    from bot.runtime.database import open_database

    db = await open_database(settings)
    try:
        staff = StaffRepository(db)
        if action == "list":
            rows = await staff.list()
            if not rows:
                print("No staff yet. Add a tutor with: python -m bot staff add EMAIL tutor")
            for row_email, row_role in rows:
                print(f"{row_role:<6} {row_email}")
            return 0
        assert email is not None
        if action == "add":
            before = await staff.role_of(email)
            await staff.add(email, role)
            if before == role:
                print(f"{email} is already {role}.")
            elif before:
                print(f"{email} changed from {before} to {role}.")
            else:
                print(f"{email} added as {role}.")
            return 0
        if await staff.remove(email):
            print(f"{email} removed from staff (now a student).")
            return 0
        print(f"{email} is not staff; nothing changed.", file=sys.stderr)
        return 1
    finally:
        await db.close()
