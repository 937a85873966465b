"""Settings from `SOUNDSTAGE_*` environment variables and an optional TOML file.

Precedence, highest first: explicit overrides (CLI flags) > environment > TOML file > defaults.
The TOML file is `$SOUNDSTAGE_CONFIG` when set, else `$XDG_CONFIG_HOME/soundstage/config.toml`
when it exists. Keys in the file are the field names below (`database_url = "..."`).

The data directory holds everything soundstage writes: the SQLite database, trained or
downloaded model files, and job outputs. It defaults to `$XDG_DATA_HOME/soundstage`
(`~/.local/share/soundstage`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from soundstage.errors import ConfigError


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "soundstage"


def default_config_file() -> Path | None:
    explicit = os.environ.get("SOUNDSTAGE_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidate = Path(base) / "soundstage" / "config.toml"
    return candidate if candidate.exists() else None


class Settings(BaseSettings):
    """Validated settings. Build with `load_settings()`, not directly."""

    model_config = SettingsConfigDict(env_prefix="SOUNDSTAGE_", extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    # SQLAlchemy URL; empty means a SQLite file in the data directory.
    database_url: str = ""
    # Who the human writer is, for the intervention log and title pages (default: login name).
    author: str = ""
    # Backend spec used when a command gets no --model (see soundstage.backends).
    model: str = "local"
    # Bearer token for `openai:` backends; OPENAI_API_KEY is used when this is unset.
    openai_api_key: SecretStr | None = None
    request_timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    # A running job whose worker has not sent a heartbeat for this long is re-queued.
    job_lease_seconds: float = Field(default=30.0, gt=0)
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    # A review-queue claim older than this goes back to the queue at the next claim.
    claim_lease_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    # Requests a minute per account on `serve` (per server process; 0: no limit).
    rate_limit_per_minute: int = Field(default=600, ge=0)
    # Keyed watermarks: green lists in every text and music-token sampler soundstage runs
    # (provenance.text_mark), spread spectrum in rendered audio (provenance.audio_mark).
    # SOUNDSTAGE_WATERMARK=0 turns them off.
    watermark: bool = True

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        return self.database_url or f"sqlite:///{self.data_dir / 'soundstage.db'}"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = default_config_file()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation problems into one-line `ConfigError`s."""
    config_file = default_config_file()
    if config_file is not None and not config_file.is_file():
        raise ConfigError(
            f"config file {config_file} does not exist",
            hint="unset SOUNDSTAGE_CONFIG or point it at a TOML file",
        )
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        where = f" in {config_file}" if config_file else ""
        raise ConfigError(
            f"invalid setting {field!r}{where}: {first['msg']}",
            hint=f"check SOUNDSTAGE_{field.upper()} or the config file",
        ) from None
    except ValueError as exc:  # a TOML syntax error surfaces as ValueError
        raise ConfigError(f"cannot read config file {config_file}: {exc}") from None


def ensure_data_dir(settings: Settings) -> Path:
    """Create the data directory, or say clearly why it cannot be used."""
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data directory {path} is not writable: {exc.strerror or exc}",
            hint="set SOUNDSTAGE_DATA_DIR to a writable folder",
        ) from None
    return path
