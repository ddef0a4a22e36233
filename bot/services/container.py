"""The live objects handlers and jobs need, built once per process by the runtime.

Why a plain dataclass in `bot_data`: handlers reach services through `context.services`
(`BotContext` below, PTB's documented customisation point) instead of module globals, so
every test can build an Application with its own database and a fixed clock, and two
Applications can run side by side in one test. The container only holds things: it is
assembled by `bot.runtime.wiring.build_services` and handed in, and none of the services it
holds imports it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import CallbackContext, ExtBot

from bot.config import Settings
from bot.rules.clock import Clock
from bot.services.ptl_pages import PtlService
from bot.services.reminders import ReminderService
from bot.services.send_budget import SendBudget
from bot.services.verification import Verifier
from storage.cohorts import CohortRepository
from storage.db import Database
from storage.exercises import ExerciseRepository
from storage.links import LinkRepository, StaffRepository
from storage.otp import OtpRepository
from storage.patients import PatientRepository
from storage.tutoring import TutorRepository

SERVICES_KEY = "services"
# Name prefix of Application tasks an update starts and does not wait for (a code sent after
# the reply): the chat driver in tests waits for them, so a test reads in order.
BACKGROUND_TASK = "ptl-background"


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
    # Tutoring: exercises and their delivery outbox; tutor reads via ptl_tutor.
    exercises: ExerciseRepository
    tutoring: TutorRepository
    # Breach reminders (bot/services/reminders.py).
    reminders: ReminderService
    # The bot token's one send budget, shared with every other replica (send_budget.py).
    send_budget: SendBudget
    # The PTL paged and streamed in the database (bot/services/ptl_pages.py).
    ptl: PtlService
    # Email verification (bot/services/verification): chosen by settings.verifier.
    verifier: Verifier | None = None
    # Per-process extras set by an entry point (the console's output stream).
    extra: dict[str, Any] = field(default_factory=dict)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services
