"""Assembles the `Services` container: the one place that knows every service's parts.

Why in the runtime: building the container means choosing concrete parts (which verifier,
which clock, one repository per table) from the settings; the services themselves only
receive what they use, so none of them needs to import the container that holds them.
"""

from __future__ import annotations

from bot.config import Settings
from bot.rules.clock import Clock, SystemClock
from bot.services.container import Services
from bot.services.ptl_pages import PtlService
from bot.services.reminders import ReminderService
from bot.services.send_budget import SendBudget, bot_id_from_token
from bot.services.verification import make_verifier
from storage.cohorts import CohortRepository
from storage.db import Database
from storage.exercises import ExerciseRepository
from storage.links import LinkRepository, StaffRepository
from storage.otp import OtpRepository
from storage.patients import PatientRepository
from storage.send_budget import SendBudgetRepository
from storage.tutoring import TutorRepository


def build_services(settings: Settings, db: Database, clock: Clock | None = None) -> Services:
    """Every service for one process on `db`. Raises VerifierConfigError (a StartupError)
    when the verification settings are unusable."""
    clock = clock or SystemClock(settings.timezone)
    otp = OtpRepository(db)
    token = settings.telegram_bot_token
    send_budget = SendBudget(
        SendBudgetRepository(db),
        bot_id=bot_id_from_token(token.get_secret_value() if token else None),
        rate=settings.telegram_messages_per_second,
        reply_reserve=settings.telegram_reply_reserve,
    )
    services = Services(
        settings=settings,
        db=db,
        clock=clock,
        patients=PatientRepository(db),
        links=LinkRepository(db),
        staff=StaffRepository(db),
        cohorts=CohortRepository(db),
        otp=otp,
        exercises=ExerciseRepository(db),
        tutoring=TutorRepository(
            db,
            timezone=settings.timezone,
            at_risk_days=(settings.at_risk_days_rtt, settings.at_risk_days_cancer),
        ),
        reminders=ReminderService(db, settings, clock),
        send_budget=send_budget,
        ptl=PtlService(db, settings, clock),
    )
    services.verifier = make_verifier(
        settings, otp=otp, clock=clock, console_output=lambda: services.extra.get("console_out")
    )
    return services
