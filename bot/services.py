"""The live objects handlers and jobs need, built once per process.

Why a plain dataclass in `bot_data`: handlers reach services through `context.services`
(see bot/context.py) instead of module globals, so every test can build an Application with
its own database and a fixed clock, and two Applications can run side by side in one test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.verification import Verifier, make_verifier
from storage.cohorts import CohortRepository
from storage.db import Database
from storage.exercises import ExerciseRepository
from storage.links import LinkRepository, StaffRepository
from storage.otp import OtpRepository
from storage.patients import PatientRepository
from storage.tutoring import TutorRepository

if TYPE_CHECKING:
    from bot.reminders import ReminderService


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    patients: PatientRepository
    links: LinkRepository
    staff: StaffRepository
    cohorts: CohortRepository
    otp: OtpRepository
    # Tutoring (issue 7): exercises and their delivery outbox; tutor reads via ptl_tutor.
    exercises: ExerciseRepository
    tutoring: TutorRepository
    # Email verification (bot/verification): chosen by settings.verifier in build_services.
    verifier: Verifier | None = None
    # Breach reminders (bot/reminders.py): created on first use by `reminder_service()`.
    reminders: ReminderService | None = None
    # Feature services registered by later modules (verifier, reminders, broadcasts...).
    extra: dict[str, Any] = field(default_factory=dict)


def build_services(settings: Settings, db: Database, clock: Clock | None = None) -> Services:
    services = Services(
        settings=settings,
        db=db,
        clock=clock or SystemClock(settings.timezone),
        patients=PatientRepository(db),
        links=LinkRepository(db),
        staff=StaffRepository(db),
        cohorts=CohortRepository(db),
        otp=OtpRepository(db),
        exercises=ExerciseRepository(db),
        tutoring=TutorRepository(db),
    )
    # Raises VerifierConfigError (a StartupError) when the verification settings are unusable.
    services.verifier = make_verifier(settings, services)
    return services
