"""Settings of one Countersign installation (environment, ``.env`` or a secrets directory).

Every variable has the prefix ``COUNTERSIGN_`` except the OpenAI ones, which keep the names
their SDK users already know. Secrets are ``SecretStr``: never logged, never put in a prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ERP_FORMS = "'legacy' or 'tryton+http://USER@HOST:PORT/DATABASE' (or tryton+https://)"
TRYTON_DEFAULT_PORTS = {"http": 8000, "https": 443}
"""The port of a Tryton URL that names none: trytond's own default, or HTTPS's."""


@dataclass(frozen=True)
class TrytonLocation:
    """Where a Tryton database is served and as whom (never with the password: that is a setting
    of its own, ``COUNTERSIGN_ERP_PASSWORD``)."""

    scheme: Literal["http", "https"]
    user: str
    host: str
    port: int
    database: str

    @property
    def base_url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:8000`` (JSON-RPC is below it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def __str__(self) -> str:
        user, database = quote(self.user, safe=""), quote(self.database, safe="")
        return f"tryton+{self.base_url.replace('://', f'://{user}@', 1)}/{database}"


def _masked(value: str) -> str:
    """A URL fit to quote in an error: any password replaced by ``***``."""
    return re.sub(r"(?<=//)([^/@:]*):[^/@]*@", r"\1:***@", value)


def parse_erp(value: str) -> TrytonLocation | None:
    """``COUNTERSIGN_ERP``: None for the bundled legacy ERP, else where the Tryton database is.

    Raises ``ValueError`` with one line saying what is wrong (never quoting a password)."""
    text = value.strip()
    if text.lower() in ("", "legacy"):
        return None
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("tryton+http", "tryton+https") or not rest:
        raise ValueError(f"COUNTERSIGN_ERP must be {ERP_FORMS}, not {_masked(text)!r}")
    parts = urlsplit(text)
    if parts.password is not None:
        raise ValueError(
            "COUNTERSIGN_ERP must not carry a password: remove it from the URL and set "
            "COUNTERSIGN_ERP_PASSWORD instead"
        )
    example = f"write {scheme.lower()}://USER@HOST:PORT/DATABASE"
    if not parts.username:
        raise ValueError(f"COUNTERSIGN_ERP names no Tryton user: {example}")
    if not parts.hostname:
        raise ValueError(f"COUNTERSIGN_ERP names no host: {example}")
    try:
        port = parts.port
        if port == 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"COUNTERSIGN_ERP has a bad port (1-65535): {example}") from None
    if parts.query or parts.fragment:
        raise ValueError(f"COUNTERSIGN_ERP takes no query or fragment: {example}")
    path = parts.path.strip("/")
    if not path:
        raise ValueError(f"COUNTERSIGN_ERP names no database: {example}")
    if "/" in path:
        raise ValueError(f"COUNTERSIGN_ERP's path must be only the database name, not {path!r}: {example}")
    http: Literal["http", "https"] = "https" if scheme.lower() == "tryton+https" else "http"
    return TrytonLocation(
        scheme=http,
        user=unquote(parts.username),
        host=parts.hostname,
        port=port or TRYTON_DEFAULT_PORTS[http],
        database=unquote(path),
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="COUNTERSIGN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        secrets_dir=None,
        # A rejected value is never echoed: it may be a URL with a password in it.
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(default=Path("var"), description="holds every embedded database and file")
    model: str = Field(
        default="offline",
        description="'offline' (deterministic planner) or 'openai:<model>' (any OpenAI-compatible endpoint)",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "COUNTERSIGN_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "COUNTERSIGN_OPENAI_BASE_URL")
    )
    openai_use_responses_api: bool = Field(
        default=False,
        description="Chat Completions works with every compatible server; Responses only with OpenAI",
    )
    openai_timeout_seconds: float = 60.0
    users_file: Path | None = Field(default=None, description="users and roles (TOML); default: demo users")
    identities_file: Path | None = Field(
        default=None, description="the agent's identity and grants (TOML); default: the demo grants"
    )
    policy_file: Path | None = Field(
        default=None, description="approval policy (TOML); default: the demo policy"
    )
    token_signing_key: SecretStr | None = Field(
        default=None,
        description="signs just-in-time tokens (32+ bytes); default: a key generated once in data_dir/secrets",
    )
    token_ttl_seconds: int = Field(default=60, ge=5, le=3600)
    erp_rate_per_second: float = Field(
        default=20.0, ge=0, description="calls per second towards the ERP; 0 = no limit"
    )
    erp_burst: int = Field(default=10, ge=1)
    erp_read_retries: int = Field(
        default=2, ge=0, le=10, description="retries of a read when the ERP is unavailable"
    )
    erp: str = Field(
        default="legacy",
        description="the ERP: 'legacy' (the bundled legacy ERP at erp_url) or "
        "'tryton+http://USER@HOST:PORT/DATABASE' (or tryton+https://); the password is erp_password",
    )
    erp_password: SecretStr | None = Field(
        default=None, description="password of the Tryton user named in COUNTERSIGN_ERP"
    )
    # URLs may carry a database password, so they are secrets too (never logged or printed whole).
    erp_url: SecretStr | None = Field(
        default=None, description="legacy ERP database URL; default: SQLite in data_dir"
    )
    database_url: SecretStr | None = Field(
        default=None, description="app database URL; default: SQLite in data_dir"
    )
    checkpoint_url: SecretStr | None = Field(
        default=None,
        description="LangGraph checkpoints: postgresql://user:pass@host/db for PostgresSaver or "
        "sqlite:///path; default: SQLite at checkpoint_path",
    )
    checkpoint_path: Path | None = Field(
        default=None, description="SQLite file of the LangGraph checkpoints; default: data_dir/checkpoints.db"
    )
    recursion_limit: int = Field(default=40, ge=5, description="max graph steps per user turn")
    log_level: str = "INFO"
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 key signing audit checkpoints (PEM or base64 seed) from a secret store; "
        "unset: the key file (audit_key_file)",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="file holding the audit signing key (read-only for the app is enough): keep it off "
        "the data directory's disk; made at the first start of a new trail, never remade while a "
        "trail exists (`countersign audit rotate-key`); default data_dir/secrets/audit_signing_key",
    )
    audit_checkpoint_dir: Path | None = Field(
        default=None,
        description="where signed audit checkpoints are written: keep it apart from the database; default data_dir/audit-checkpoints",
    )
    audit_checkpoint_every_records: int = Field(default=1000, ge=1)
    audit_checkpoint_every_seconds: float = Field(default=300, gt=0)
    audit_retention_days: int = Field(
        default=400, description="audit records are kept at least this long; never below 183 (six months)"
    )
    # ---- the pipeline: outbox -> commands queue -> ERP writer -> results; ERP events -> agent ----
    broker_url: SecretStr | None = Field(
        default=None,
        description="message broker: amqp://user:pass@host:5672/vhost for RabbitMQ; "
        "default: the embedded queue (kombu's SQL transport on SQLite in data_dir)",
    )
    queue_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]{0,64}$",
        description="prefix of every queue and exchange name: several installations on one broker",
    )
    workers: Literal["embedded", "external"] = Field(
        default="embedded",
        description="embedded: the app runs the writer, agent and reconciliation itself and one-shot "
        "commands finish their own queued work; external: `countersign worker` processes do",
    )
    writer_max_writes_per_second: float = Field(
        default=5.0, ge=0, description="writes the ERP receives per second, across every writer; 0 = no limit"
    )
    writer_concurrency: int = Field(default=2, ge=1, le=64, description="writes in flight per writer process")
    queue_max_attempts: int = Field(
        default=5, ge=1, le=100, description="deliveries of a failing message before it is dead-lettered"
    )
    outbox_redeliver_after_seconds: float = Field(
        default=300, gt=0, description="an approved write with no result after this long is sent again"
    )
    events_file: Path | None = Field(
        default=None, description="who acts on which ERP event (TOML); default: the demo owners"
    )
    events_scan_seconds: float = Field(default=5, gt=0, description="how often the ERP is scanned for events")
    reconcile_interval_seconds: float = Field(
        default=60, gt=0, description="how often the standing reconciliation job runs"
    )
    reconcile_missing_after_seconds: float = Field(
        default=600, gt=0, description="an approved write not landed after this long is reported missing"
    )
    otel_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset = off",
    )
    otel_service_name: str = "countersign"

    @field_validator("audit_retention_days")
    @classmethod
    def _at_least_six_months(cls, value: int) -> int:
        if value < 183:
            raise ValueError(
                f"COUNTERSIGN_AUDIT_RETENTION_DAYS={value} is below the 183 days (six months) audit logs must be kept"
            )
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value != "offline" and not (value.startswith("openai:") and len(value) > len("openai:")):
            raise ValueError(f"COUNTERSIGN_MODEL must be 'offline' or 'openai:<model>', not {value!r}")
        return value

    @field_validator("erp")
    @classmethod
    def _known_erp(cls, value: str) -> str:
        location = parse_erp(value)
        return "legacy" if location is None else str(location)

    @model_validator(mode="after")
    def _tryton_has_a_password(self) -> Settings:
        location = self.tryton_erp
        if location is not None and (self.erp_password is None or not self.erp_password.get_secret_value()):
            raise ValueError(
                f"COUNTERSIGN_ERP points at Tryton ({location}) but COUNTERSIGN_ERP_PASSWORD is not set: "
                f"set it to the password of the Tryton user {location.user!r}"
            )
        return self

    @property
    def tryton_erp(self) -> TrytonLocation | None:
        """Where the Tryton ERP is, or None when the bundled legacy ERP is in use."""
        return parse_erp(self.erp)

    @property
    def erp_kind(self) -> Literal["legacy", "tryton"]:
        return "legacy" if self.tryton_erp is None else "tryton"

    @property
    def erp_shown(self) -> str:
        """Which ERP, fit to print (no password)."""
        location = self.tryton_erp
        if location is None:
            return f"the legacy ERP at {shown(self.erp_database_url)}"
        return f"the Tryton ERP at {location}"

    @property
    def erp_database_url(self) -> str:
        if self.erp_url is not None:
            return self.erp_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'legacy_erp.db'}"

    @property
    def app_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'countersign.db'}"

    @property
    def checkpoint_file(self) -> Path:
        return self.checkpoint_path or self.data_dir / "checkpoints.db"

    @property
    def checkpoint_database_url(self) -> str:
        if self.checkpoint_url is not None:
            return self.checkpoint_url.get_secret_value()
        return f"sqlite:///{self.checkpoint_file}"

    @property
    def message_broker_url(self) -> str:
        if self.broker_url is not None:
            return self.broker_url.get_secret_value()
        return f"sqla+sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "countersign.jsonl"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def checkpoint_store_dir(self) -> Path:
        return self.audit_checkpoint_dir or self.data_dir / "audit-checkpoints"

    @property
    def audit_key_path(self) -> Path:
        """The audit signing key's file (unused when ``audit_signing_key`` is set)."""
        return self.audit_key_file or self.secrets_dir / "audit_signing_key"


def shown(url: str) -> str:
    """A database URL fit to print: the password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def load_settings(secrets_dir: Path | None = None) -> Settings:
    """Read settings from the environment, ``.env`` and, if given or set, a secrets directory."""
    import os

    directory = secrets_dir or (Path(p) if (p := os.environ.get("COUNTERSIGN_SECRETS_DIR")) else None)
    if directory is not None:
        return Settings(_secrets_dir=directory)
    return Settings()
