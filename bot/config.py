"""Configuration: one pydantic-settings model read from the environment (and `.env`).

Why one model: every setting is named, typed and documented in one place, so the operator's
table in the README and the code cannot drift apart, and a bad value is caught at start-up
with a message that names the variable instead of failing later in the middle of a chat.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A setting is missing or malformed; the message is safe to print (no secret values)."""


class StartupError(Exception):
    """Start-up cannot continue; the message tells the operator what to do.

    Here, beside the settings, because every layer can find a start-up fault (a verifier
    with unusable settings, a database that needs migrating) and the runtime reports them
    all the same way: one message, exit 2."""


class Settings(BaseSettings):
    """Every setting the bot reads. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- Telegram -------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather. Not needed in console mode."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL; point it at a self-hosted Bot API server if you run one.",
    )
    webhook_url: str | None = Field(
        default=None,
        description="Public HTTPS URL of this service: set it for webhook mode. A bare host "
        "(https://bot.example.org) receives updates at /telegram; a URL with a path uses it.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret token Telegram sends with every webhook request (1-256 of "
        "A-Z a-z 0-9 _ -). Required in webhook mode; the same on every replica.",
    )
    webhook_listen: str = Field(
        default="0.0.0.0",  # a web dyno must listen on all interfaces
        description="Address the webhook server binds to.",
    )
    webhook_max_connections: int = Field(
        default=40, ge=1, le=100, description="Telegram's concurrent webhook connections."
    )
    port: int = Field(default=8080, ge=0, le=65535, description="Port for webhook mode.")
    telegram_rate_limit: bool = Field(
        default=True,
        description="Pace sends to Telegram's limits (about 30 messages/s overall). Leave on; "
        "off only to measure the bot's own capacity against a local fake Bot API.",
    )
    telegram_messages_per_second: float = Field(
        default=28.0,
        gt=0,
        le=1000,
        description="Messages a second for this bot token in all, shared by every replica and "
        "job through the database (Telegram allows about 30; two are kept back for timing "
        "jitter between hosts).",
    )
    telegram_reply_reserve: float = Field(
        default=1.0,
        ge=0,
        description="Of those, messages a second broadcasts and reminders always leave free "
        "for answering people (replies also go ahead of them).",
    )

    # --- Database -------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        default=None,
        description="Postgres connection string (Supabase). Unset: embedded Postgres.",
    )
    ptl_data_dir: Path = Field(
        default=Path("data"), description="Embedded database and local files live here."
    )
    db_pool_min_size: int = Field(default=1, ge=0, le=100, description="Connections kept open.")
    db_pool_max_size: int = Field(
        default=10, ge=1, le=200, description="Most connections this process opens."
    )
    concurrent_updates: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Updates processed at once (different chats only; each chat stays in "
        "order). 0: a third of DB_POOL_MAX_SIZE, at most 8; 1: one at a time.",
    )
    db_statement_cache_size: int = Field(
        default=100, ge=0, description="0 when connecting through Supabase's transaction pooler."
    )

    # --- Time -----------------------------------------------------------------------------
    timezone: str = Field(
        default="Europe/London", description="'Today' for every clock is the date here."
    )

    # --- Training policy ------------------------------------------------------------------
    allow_any_valid_nhs_number: bool = Field(
        default=False,
        description="Accept any Modulus-11-valid NHS number, not only the 999 test range.",
    )
    at_risk_days_rtt: int = Field(
        default=28, ge=0, le=126, description="RTT clock is at risk this many days before breach."
    )
    at_risk_days_cancer: int = Field(
        default=7, ge=0, le=62, description="Cancer/diagnostic at-risk days before breach."
    )
    max_patients_per_student: int = Field(
        default=2000,
        ge=1,
        le=1_000_000,
        description="The most live patients /add keeps for one student (what one PTL costs).",
    )
    form_idle_minutes: int = Field(
        default=60,
        ge=5,
        le=1440,
        description=(
            "A step-by-step form (/add, /update, /broadcast...) left alone this long is "
            "closed (nothing saved)."
        ),
    )

    # --- Identity (email verification) ------------------------------------------------------
    verifier: Literal["supabase", "smtp", "console"] | None = Field(
        default=None,
        description="How emails are verified. Unset: console without a token, else an error.",
    )
    allowed_email_domains: str = Field(
        default="", description="Comma-separated allow-list of email domains; empty allows all."
    )
    supabase_url: str | None = Field(
        default=None,
        description="Supabase project URL (VERIFIER=supabase), https://<ref>.supabase.co",
    )
    supabase_key: SecretStr | None = Field(
        default=None, description="Supabase anon/publishable key (VERIFIER=supabase)."
    )
    supabase_should_create_user: bool = Field(
        default=False,
        description="Let a code sign-in create a Supabase user for an unknown email.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP relay host (VERIFIER=smtp).")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="587 STARTTLS, 465 TLS.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (465) or none (local relay)."
    )
    smtp_user: str | None = Field(default=None, description="SMTP login, if the relay needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password / API key.")
    smtp_from: str | None = Field(
        default=None, description='Sender, e.g. "PTL trainer <noreply@example.ac.uk>".'
    )
    otp_secret: SecretStr | None = Field(
        default=None,
        description="Key for hashing codes and emails; unset: a random key kept in the database.",
    )

    # --- Reminders and broadcasts -----------------------------------------------------------
    reminder_default_time: str = Field(
        default="08:30",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Daily digest time (HH:MM, local) for students who have not chosen one.",
    )
    reminder_default_window_days: int = Field(
        default=7, ge=1, le=60, description="Digest lists patients breaching within this many days."
    )
    reminder_weekdays_only: bool = Field(
        default=True, description="Default digest days: weekdays only (false: every day)."
    )
    reminder_send_empty: bool = Field(
        default=False, description="Send an all-clear digest when nothing is at risk."
    )
    reminder_messages_per_second: float = Field(
        default=30.0,
        gt=0,
        le=30,
        description="Most breach reminder sends a second (within the shared "
        "TELEGRAM_MESSAGES_PER_SECOND).",
    )
    broadcast_messages_per_second: float = Field(
        default=30.0,
        gt=0,
        le=1000,
        description="Most exercise broadcast sends a second per replica (within the shared "
        "TELEGRAM_MESSAGES_PER_SECOND).",
    )

    # --- Logging --------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level (console mode shows warnings only unless set)."
    )
    log_json: bool = Field(default=False, description="One JSON object per log line.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone name such as Europe/London") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgres://", "postgresql://")):
            raise ValueError(
                "expected a URL starting postgresql:// (Supabase: Settings > Database)"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith("https://") or len(value) <= len("https://"):
            raise ValueError("Telegram only calls HTTPS webhooks: expected https://your-host/...")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if not (1 <= len(secret) <= 256) or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in secret
        ):
            raise ValueError(
                "Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and -; make one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        head, _, tail = token.partition(":")
        if not head.isdigit() or len(tail) < 20:
            raise ValueError("expected a token from @BotFather, like 123456789:AA... ")
        return SecretStr(token)

    @model_validator(mode="after")
    def _pool_sizes(self) -> Settings:
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not be larger than DB_POOL_MAX_SIZE")
        return self

    @model_validator(mode="after")
    def _reply_reserve_below_budget(self) -> Settings:
        if self.telegram_reply_reserve >= self.telegram_messages_per_second:
            raise ValueError(
                "TELEGRAM_REPLY_RESERVE must be smaller than TELEGRAM_MESSAGES_PER_SECOND"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def email_domains(self) -> frozenset[str]:
        return frozenset(
            d.strip().lower().lstrip("@")
            for d in self.allowed_email_domains.split(",")
            if d.strip()
        )


def _describe(error: ValidationError) -> str:
    """Turn pydantic's report into lines naming the environment variable, never its value."""
    lines = []
    for item in error.errors():
        loc = item.get("loc") or ()
        name = str(loc[0]).upper() if loc else "configuration"
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        lines.append(f"  {name}: {message}")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, raising ConfigError with a clear, secret-free message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError("Configuration error:\n" + _describe(exc)) from None


def load_settings_or_exit(**overrides: object) -> Settings:
    """Entry-point helper: print the problem and exit with status 2, never a traceback."""
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("Fix the variable(s) above (environment or .env) and start again.", file=sys.stderr)
        raise SystemExit(2) from None
