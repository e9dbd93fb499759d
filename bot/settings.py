"""Typed settings from the environment or `.env`, validated once at start-up."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import LANGUAGES

SignupMode = Literal["open", "invite", "approval"]


class Settings(BaseSettings):
    """Everything an operator can configure; each field maps to `CHAMPBOT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CHAMPBOT_", env_file=".env", extra="ignore")

    token: SecretStr | None = Field(None, description="Telegram bot token from @BotFather.")
    api_base_url: str = Field(
        "https://api.telegram.org",
        description="Bot API server: Telegram's, a self-hosted one, or the local emulator.",
    )
    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file and exports.")
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; default is a SQLite file under data_dir."
    )
    default_language: str = Field("en", description="Language used when none can be negotiated.")
    signup_mode: SignupMode = Field("open", description="open, invite or approval.")
    invite_days: int = Field(14, ge=1, le=365, description="How long a new invite link stays valid.")
    delivery_rate: float = Field(
        29.0,
        ge=0,
        description="Messages a second the bot's token sends at most, replies and deliveries together, "
        "split between the processes sending with it (0: no limit, for tests). Telegram allows about 30; "
        "29 leaves room for a send that starts a little late.",
    )
    delivery_workers: int = Field(1, ge=0, le=16, description="Delivery workers inside the bot process.")
    schedule_grace_minutes: int = Field(
        60,
        ge=0,
        description="A scheduled message found this late (the bot was down) is sent; later ones are missed.",
    )
    flood_burst: int = Field(
        20, ge=1, description="Updates one chat may send at once before it is slowed down."
    )
    flood_rate: float = Field(
        5.0, ge=0, description="Updates a second one chat may send after its burst (0: no limit)."
    )
    paste_window_seconds: float = Field(
        1.5,
        gt=0,
        le=10,
        description="How long a long text waits for the rest of a paste the client sent in parts.",
    )
    db_retry_seconds: float = Field(
        60.0, ge=0, description="How long an update waits for the database to come back before it fails."
    )
    digest_weekday: int = Field(
        0, ge=0, le=6, description="Day the weekly digest goes to coordinators (0 = Monday)."
    )
    digest_hour: int = Field(9, ge=0, le=23, description="Hour of that day it goes, Europe/London time.")
    webhook_url: str | None = Field(None, description="Public HTTPS URL Telegram posts updates to.")
    webhook_port: int = Field(8443, ge=1, le=65535, description="Local port the webhook listens on.")
    webhook_secret: SecretStr | None = Field(
        None, description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token."
    )
    web_url: str | None = Field(
        None,
        description="Public base URL of the coordinators' web dashboard (e.g. "
        "https://champions.example.org), for the sign-in links /web sends; the dashboard is served "
        "only when it is set. Cookies are marked Secure when it starts with https://.",
    )
    web_idle_minutes: int = Field(
        30, ge=1, le=24 * 60, description="Minutes a dashboard session may sit unused before it ends."
    )
    whatsapp_token: SecretStr | None = Field(
        None, description="WhatsApp Cloud API access token; WhatsApp is off without one."
    )
    whatsapp_phone_number_id: str | None = Field(None, description="The WhatsApp business number's id.")
    whatsapp_number: str | None = Field(
        None, description="The business number in international digits, for wa.me invite links."
    )
    whatsapp_app_secret: SecretStr | None = Field(
        None, description="The Meta app's secret, which signs every webhook (X-Hub-Signature-256)."
    )
    whatsapp_verify_token: SecretStr | None = Field(
        None, description="The token Meta echoes when it verifies the webhook (hub.verify_token)."
    )
    whatsapp_port: int = Field(
        8444, ge=1, le=65535, description="Port of WhatsApp's webhook when Telegram is polled."
    )
    whatsapp_api_url: str = Field(
        "https://graph.facebook.com/v23.0", description="Graph API base: Meta's, or the local emulator."
    )
    whatsapp_rate: float = Field(
        78.0,
        ge=0,
        description="Messages a second the WhatsApp number sends at most, split between the processes "
        "sending with it (0: no limit). Meta allows 80 by default (up to 1,000 when raised); 78 leaves "
        "room for sends that arrive bunched after a late one.",
    )
    whatsapp_pair_seconds: float = Field(
        6.0, ge=0, description="Seconds between two messages to one WhatsApp user (Meta's pair limit)."
    )
    whatsapp_daily_tier: int | None = Field(
        250,
        ge=1,
        description="People the business may message outside the 24-hour window a day (Meta's "
        "messaging tier: 250, 2000, 10000, 100000; empty for unlimited).",
    )

    @field_validator(
        "token",
        "webhook_secret",
        "whatsapp_token",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        mode="before",
    )
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("api_base_url", "whatsapp_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> "Settings":
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("CHAMPBOT_WEBHOOK_SECRET is required when CHAMPBOT_WEBHOOK_URL is set")
        return self

    @model_validator(mode="after")
    def _whatsapp_complete(self) -> "Settings":
        if self.whatsapp_token and not (self.whatsapp_phone_number_id and self.whatsapp_app_secret):
            raise ValueError(
                "CHAMPBOT_WHATSAPP_PHONE_NUMBER_ID and CHAMPBOT_WHATSAPP_APP_SECRET are required "
                "when CHAMPBOT_WHATSAPP_TOKEN is set"
            )
        return self

    @property
    def whatsapp(self) -> bool:
        """Whether the WhatsApp channel is configured."""
        return self.whatsapp_token is not None

    @property
    def db_url(self) -> str:
        """The database URL in use, defaulting to a SQLite file in the data folder."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'champbot.db'}"


class SettingsError(Exception):
    """A setting is wrong or missing; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        where = f"CHAMPBOT_{name}" if name else "settings"
        raise SettingsError(f"{where}: {first['msg']}") from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
