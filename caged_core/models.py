"""The Caged wire contract as pydantic models.

One set of models serves both sides: the client parses the hosted (and the
local) platform's responses with them, and the local platform emits them.

They are *tolerant* by design, because the hosted API evolves and older
deployments speak the 0.2 shapes:

- unknown fields are ignored and absent ones defaulted;
- enum-like fields are :class:`OpenEnum` subclasses: a value we do not know
  (``"creating"``) is kept as a pseudo-member instead of failing validation;
- every legacy 0.2 shape named in ``shared/caged-api.md`` is accepted
  (``dir``/``directory``, ``modified``/``mod_time``, ``plan``/``tier``,
  ``count``/``unread_count``, ``body``/``message``, low/medium/high severities,
  ``resolved`` bool vs ``state``, bare arrays vs envelopes, a git diff string).

Request bodies (:class:`SandboxCreate`, :class:`EventPayload`, …) validate
strictly instead, with the contract's ranges, so that the local platform can
answer a clear 400 and the client can fail before sending.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

__all__ = [
    "TEMPLATES",
    "TEMPLATE_ALIASES",
    "APIKey",
    "Account",
    "AccountSession",
    "AgentSession",
    "Alert",
    "AlertPage",
    "AlertRule",
    "AlertRuleType",
    "AlertSeverity",
    "AlertState",
    "CheckoutSession",
    "CreatedKey",
    "EventPayload",
    "EventType",
    "ExecResult",
    "FileEntry",
    "FileType",
    "GitDiff",
    "GitFileStatus",
    "IngestResult",
    "KeyScope",
    "LogEntry",
    "NetworkMode",
    "Notification",
    "NotificationChannel",
    "NotificationConfig",
    "NotificationConfigUpdate",
    "NotificationPage",
    "OpenEnum",
    "Pagination",
    "Port",
    "RateLimit",
    "ReplayEvent",
    "ReplayPage",
    "ReplaySummary",
    "Sandbox",
    "SandboxConfig",
    "SandboxCreate",
    "SandboxStatus",
    "SessionPage",
    "SessionStatus",
    "Snapshot",
    "SnapshotDownload",
    "SnapshotStatus",
    "SocketTicket",
    "Subscription",
    "TemplateInfo",
    "TerminalSessionInfo",
    "TrustDeduction",
    "TrustScore",
    "UnreadCount",
    "Usage",
    "WirePage",
]


class OpenEnum(StrEnum):
    """A string enum that keeps values it does not know.

    ``SandboxStatus("creating")`` returns a pseudo-member whose value is
    ``"creating"`` rather than raising, so a new server status never crashes a
    client; it still compares equal to its string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper().replace("-", "_")
        member._value_ = value
        return member


# --------------------------------------------------------------------------- enums


class SandboxStatus(OpenEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    ERROR = "error"
    DESTROYED = "destroyed"


class NetworkMode(OpenEnum):
    FULL = "full"
    NONE = "none"
    ALLOWLIST = "allowlist"


class FileType(OpenEnum):
    FILE = "file"
    DIRECTORY = "directory"


class SnapshotStatus(OpenEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class KeyScope(OpenEnum):
    FULL = "full"
    READ_ONLY = "read_only"


class SessionStatus(OpenEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"


class EventType(OpenEnum):
    LLM_CALL = "llm_call"
    TOOL_CALL = "tool_call"
    FILE_OP = "file_op"
    COMMAND = "command"
    NETWORK = "network"
    ERROR = "error"
    LIFECYCLE = "lifecycle"
    DESKTOP = "desktop"
    OTHER = "other"


class AlertSeverity(OpenEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(OpenEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    MUTED = "muted"


class AlertRuleType(OpenEnum):
    BUDGET_EXCEEDED = "budget_exceeded"
    COST_ANOMALY = "cost_anomaly"
    AGENT_STUCK = "agent_stuck"
    ERROR_SPIKE = "error_spike"
    TRUST_SCORE_LOW = "trust_score_low"


class NotificationChannel(OpenEnum):
    SLACK = "slack"
    DISCORD = "discord"
    EMAIL = "email"
    IN_APP = "in_app"


#: Templates the contract names, and the aliases it accepts for them.
TEMPLATES: tuple[str, ...] = (
    "minimal",
    "node-22",
    "node-20",
    "python-312",
    "python-311",
    "go-122",
    "desktop",
)
TEMPLATE_ALIASES: dict[str, str] = {
    "node": "node-22",
    "python": "python-312",
    "gui": "desktop",
    "computer": "desktop",
}

# Legacy 0.2 severities, mapped onto the hosted three.
_LEGACY_SEVERITY = {"low": "info", "medium": "warning", "high": "critical", "error": "critical"}


# --------------------------------------------------------------------------- bases


class CagedModel(BaseModel):
    """Base of every response model: tolerant of extra and missing fields.

    Validators are built on first use (``defer_build``), not at import: building all of
    them took a third of the TUI's imports on the way to its first frame, which needs
    one of them.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused, ranges enforced.

    Numeric fields are declared ``strict``: ``true`` or ``"2"`` is not a number, as
    the hosted platform's JSON decoding (Go's) refuses them too. The whole model cannot
    be strict: enums and datetimes must still be read from their JSON strings.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send: unset fields omitted so server defaults apply."""
        return self.model_dump(mode="json", exclude_none=True, exclude_unset=True, by_alias=False)


ItemT = TypeVar("ItemT")


class WirePage(CagedModel, Generic[ItemT]):
    """Base of the API's page answers: ``for``, ``len()`` and indexing see the items (the
    field named by :attr:`ITEMS`), not pydantic's fields. The client hands pages out as
    :class:`~caged_core.client.AsyncPage`, which also walks on to the next ones."""

    ITEMS: ClassVar[str]

    def _items(self) -> list[ItemT]:
        items: list[ItemT] = getattr(self, self.ITEMS)
        return items

    def __iter__(self) -> Iterator[ItemT]:  # type: ignore[override]
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __getitem__(self, index: int) -> ItemT:
        return self._items()[index]


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- sandboxes


class SandboxConfig(CagedModel):
    """How a sandbox was configured; the local platform adds how it is isolated."""

    source: str | None = None  # yaml | flags | merged
    raw: str | None = None
    isolation: str | None = None  # local platform: "bwrap" or "none"
    limits: str | None = None  # local platform: the limit mechanism in force
    network: str | None = None  # local platform: how the network policy is enforced
    disk: str | None = None  # local platform: how disk_gb applies (advisory)
    user: str | None = None  # local platform: the host uid the cage's processes run as


class TemplateInfo(CagedModel):
    """A template the platform knows (local platform: ``GET /templates``)."""

    name: str
    available: bool = True  # False: named by the contract but not offered here (see why)
    built: bool = False  # its image is ready (the first sandbox of an unbuilt one builds it)
    description: str = ""


class Sandbox(CagedModel):
    id: str
    status: SandboxStatus = SandboxStatus.PENDING
    template: str = ""
    ip: str | None = None
    cpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    network_mode: NetworkMode = NetworkMode.FULL
    allowlist: list[str] = Field(default_factory=list)
    repo_url: str | None = None
    budget: float | None = None
    init_script: str | None = None
    timeout: int | None = None
    config: SandboxConfig | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    cost: float = 0.0
    llm_cost: float = 0.0
    total_cost: float = 0.0
    # Local-platform extensions (absent on the hosted API → None):
    last_activity_at: datetime | None = None
    last_error: str | None = None

    @field_validator("config", mode="before")
    @classmethod
    def _config_from_string(cls, value: Any) -> Any:
        # Some deployments send the raw config-as-code text instead of an object.
        if isinstance(value, str):
            return {"raw": value}
        return value

    @property
    def is_active(self) -> bool:
        """Whether the sandbox is consuming compute (running or starting)."""
        return self.status in (SandboxStatus.RUNNING, SandboxStatus.PENDING)

    @property
    def idle_deadline(self) -> datetime | None:
        """When the sandbox will auto-pause if nothing happens (local platform only)."""
        if self.status != SandboxStatus.RUNNING or self.last_activity_at is None:
            return None
        return self.last_activity_at + timedelta(seconds=self.timeout or 900)


class SandboxCreate(RequestModel):
    """The body of ``POST /sandboxes``, validated with the contract's ranges."""

    template: str
    cpus: int | None = Field(default=None, ge=1, le=8, strict=True)
    memory_mb: int | None = Field(default=None, ge=128, le=8192, strict=True)
    disk_gb: int | None = Field(
        default=None,
        ge=1,
        le=50,
        strict=True,
        description="Disk quota in GB; advisory on the local platform (recorded, not enforced).",
    )
    network_mode: NetworkMode | None = None
    allowlist: list[str] | None = None
    env: dict[str, str] | None = None
    repo: str | None = None
    repo_token: str | None = None
    repo_branch: str | None = None
    repo_commit: str | None = None
    repo_subdir: str | None = None
    budget: float | None = Field(default=None, ge=0, strict=True)
    init_script: str | None = None
    secrets: list[str] | None = None
    timeout: int | None = Field(default=None, ge=0, le=7 * 24 * 3600, strict=True)
    packages: list[str] | None = None
    agents: list[str] | None = None
    persona_id: str | None = None
    harness_id: str | None = None

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        name = TEMPLATE_ALIASES.get(value, value)
        if name not in TEMPLATES:
            valid = ", ".join(TEMPLATES + tuple(TEMPLATE_ALIASES))
            raise ValueError(f"unknown template {value!r}; valid templates: {valid}")
        return name

    @field_validator("network_mode")
    @classmethod
    def _known_network_mode(cls, value: NetworkMode | None) -> NetworkMode | None:
        if value is not None and value not in (
            NetworkMode.FULL,
            NetworkMode.NONE,
            NetworkMode.ALLOWLIST,
        ):
            raise ValueError("network_mode must be one of: full, none, allowlist")
        return value

    @model_validator(mode="after")
    def _allowlist_needs_hosts(self) -> Self:
        if self.network_mode == NetworkMode.ALLOWLIST and not self.allowlist:
            raise ValueError("network_mode 'allowlist' requires a non-empty allowlist")
        return self


class ExecResult(CagedModel):
    """Result of a command. A non-zero exit code is not an error; ``error`` is
    set only when the command could not run at all."""

    output: str = ""
    exit_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.error


class LogEntry(CagedModel):
    timestamp: datetime | None = None
    type: str = "system"
    message: str = ""


class Port(CagedModel):
    port: int
    preview_url: str | None = Field(
        default=None, validation_alias=AliasChoices("preview_url", "url")
    )
    protocol: str = "tcp"
    protected: bool = False
    detected_at: datetime | None = None
    state: str | None = None  # legacy 0.2


class TrustDeduction(CagedModel):
    """One penalty applied to a session's trust score (local platform)."""

    rule: str
    points: int
    reason: str = ""
    event_id: str | None = None
    sequence: int | None = None
    timestamp: datetime | None = None


class TrustScore(CagedModel):
    session_id: str
    score: int = 100
    updated_at: datetime | None = None
    sandbox_id: str | None = None  # legacy 0.2
    factors: dict[str, Any] | list[Any] | None = None  # legacy 0.2
    deductions: list[TrustDeduction] = Field(default_factory=list)


class TerminalSessionInfo(CagedModel):
    id: str
    rows: int | None = None
    cols: int | None = None
    created_at: datetime | None = None
    client: str | None = None


# --------------------------------------------------------------------------- files


class FileEntry(CagedModel):
    name: str
    path: str
    type: FileType = FileType.FILE
    size: int = 0
    mod_time: datetime | None = Field(
        default=None, validation_alias=AliasChoices("mod_time", "modified")
    )

    @field_validator("type", mode="before")
    @classmethod
    def _legacy_dir(cls, value: Any) -> Any:
        return "directory" if value == "dir" else value

    @field_validator("size", mode="before")
    @classmethod
    def _size_none(cls, value: Any) -> Any:
        return 0 if value is None else value

    @property
    def is_dir(self) -> bool:
        return self.type == FileType.DIRECTORY


class GitFileStatus(CagedModel):
    path: str
    status: str = "modified"  # modified | added | deleted | untracked


class GitDiff(CagedModel):
    files: list[GitFileStatus] = Field(default_factory=list)
    diff: str = ""
    staged_diff: str = ""

    @model_validator(mode="before")
    @classmethod
    def _legacy_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"diff": value}
        return value


# --------------------------------------------------------------------------- snapshots


class Snapshot(CagedModel):
    id: str
    sandbox_id: str = ""
    name: str = ""
    description: str = ""
    status: SnapshotStatus = SnapshotStatus.COMPLETED
    trigger: str = "manual"
    size_bytes: int = 0
    created_at: datetime | None = None
    completed_at: datetime | None = None

    @field_validator("name", "description", mode="before")
    @classmethod
    def _none_to_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class SnapshotDownload(CagedModel):
    """Where to download a snapshot archive, and until when."""

    url: str
    expires_in_seconds: int = 3600
    fetched_at: datetime = Field(default_factory=_now)

    @property
    def expires_at(self) -> datetime:
        return self.fetched_at + timedelta(seconds=self.expires_in_seconds)

    @property
    def expired(self) -> bool:
        return _now() >= self.expires_at


# --------------------------------------------------------------------------- account


class Account(CagedModel):
    id: str
    email: str = ""
    name: str = ""
    tier: str = Field(default="free", validation_alias=AliasChoices("tier", "plan"))
    email_verified: bool = False
    created_at: datetime | None = None


class APIKey(CagedModel):
    id: str
    name: str = ""
    prefix: str = ""
    scope: KeyScope = KeyScope.FULL
    last_used: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None


class CreatedKey(CagedModel):
    """A new key: ``key`` is the secret, shown this one time only."""

    key: str
    info: APIKey

    def __repr__(self) -> str:  # never leak the secret through a repr
        return f"CreatedKey(info={self.info!r}, key='{self.info.prefix}…')"

    __str__ = __repr__


class AccountSession(CagedModel):
    id: str
    user_agent: str = ""
    ip: str = ""
    expires_at: datetime | None = None
    created_at: datetime | None = None


class SocketTicket(CagedModel):
    ticket: str
    expires_in: int = 60
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"SocketTicket(expires_in={self.expires_in})"

    __str__ = __repr__


# --------------------------------------------------------------------------- sessions


class AgentSession(CagedModel):
    id: str
    sandbox_id: str = ""
    persona_id: str | None = None
    status: SessionStatus = SessionStatus.ACTIVE
    agent_type: str | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_cost: float = 0.0
    compute_cost: float = 0.0
    total_cost: float = 0.0
    trust_score: int | None = None
    event_count: int = 0
    duration_ms: float | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _legacy_error(cls, value: Any) -> Any:
        # The public docs call a failed session "error".
        return "failed" if value == "error" else value


class Pagination(CagedModel):
    page: int = 1
    per_page: int = 0
    total: int = 0
    total_pages: int = 0


class SessionPage(WirePage[AgentSession]):
    ITEMS: ClassVar[str] = "data"
    data: list[AgentSession] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)

    @model_validator(mode="before")
    @classmethod
    def _legacy_array(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"data": value, "pagination": {"total": len(value), "per_page": len(value)}}
        return value


class _NoneAsEmpty:
    """Reads ``null`` as an empty object: a schema branch taken only for ``null``, so an
    object is validated without calling Python (unlike a "before" validator)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.union_schema(
            [
                handler(source),
                core_schema.no_info_after_validator_function(
                    lambda _: {}, core_schema.none_schema()
                ),
            ],
            mode="left_to_right",
        )


class ReplayEvent(CagedModel):
    id: str = ""
    session_id: str = ""
    sequence: int = 0
    type: EventType = EventType.OTHER
    timestamp: datetime | None = None
    duration_ms: float | None = None
    data: Annotated[dict[str, Any], _NoneAsEmpty] = Field(
        default_factory=dict, validation_alias=AliasChoices("data", "payload")
    )
    # Local-platform extensions: where the event happened, and the event's meta
    # (an ingested type outside the contract's list is kept as meta["original_type"]).
    sandbox_id: str = ""
    meta: dict[str, str] = Field(default_factory=dict)


class ReplayPage(WirePage[ReplayEvent]):
    """A page of replay events; also read from the older bare array of events.

    The array shape is a second branch of the schema rather than a "before" validator,
    which would make pydantic build the whole page as Python objects first (a page is
    up to 1000 events, and the array shape is the rare one).
    """

    ITEMS: ClassVar[str] = "events"
    events: list[ReplayEvent] = Field(default_factory=list)
    has_more: bool = False
    next_seq: int | None = None
    total: int = 0

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.union_schema(
            [
                handler(source),
                core_schema.no_info_after_validator_function(
                    cls._from_array, handler.generate_schema(list[ReplayEvent])
                ),
            ],
            mode="left_to_right",
        )

    @classmethod
    def _from_array(cls, events: list[ReplayEvent]) -> "ReplayPage":
        return cls(
            events=events,
            has_more=False,
            next_seq=max((e.sequence for e in events), default=None),
            total=len(events),
        )


class ReplaySummary(CagedModel):
    session_id: str = ""
    event_count: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: float = 0.0
    types: dict[str, int] = Field(default_factory=dict)
    cost_usd: float = 0.0  # the 0.2 README prints it; the hosted summary omits it


# --------------------------------------------------------------------------- events


class EventPayload(RequestModel):
    """One observability event for ``POST /events/ingest``.

    ``timestamp`` defaults to now (the server requires one); ``data`` is the
    0.2 name of ``payload`` and is accepted as such.
    """

    type: str
    timestamp: datetime = Field(default_factory=_now)
    id: str | None = None
    sandbox_id: str | None = None
    session_id: str | None = None
    process_id: str | None = None
    duration_ns: int | None = Field(default=None, strict=True)
    meta: dict[str, str] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("payload", "data")
    )

    def to_body(self) -> dict[str, Any]:
        # Always send the timestamp, even when it was defaulted.
        body = self.model_dump(mode="json", exclude_none=True)
        return body


class IngestResult(CagedModel):
    accepted: int = 0
    errors: int = 0
    messages: list[str] = Field(default_factory=list)  # local platform: why events failed

    @field_validator("errors", mode="before")
    @classmethod
    def _errors_list(cls, value: Any) -> Any:
        # Some deployments return the list of per-event errors instead of a count.
        return len(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- alerts


class Alert(CagedModel):
    id: str
    account_id: str = ""
    rule_id: str = ""
    rule_type: str = Field(default="", validation_alias=AliasChoices("rule_type", "type"))
    severity: AlertSeverity = AlertSeverity.INFO
    state: AlertState = AlertState.OPEN
    title: str = ""
    message: str = ""
    sandbox_id: str = ""
    session_id: str = ""
    meta: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    resolved_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_shapes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        data = dict(value)
        severity = data.get("severity")
        if isinstance(severity, str) and severity in _LEGACY_SEVERITY:
            data["severity"] = _LEGACY_SEVERITY[severity]
        if "state" not in data and isinstance(data.get("resolved"), bool):
            data["state"] = "resolved" if data["resolved"] else "open"
        for key in ("sandbox_id", "session_id", "title", "message", "rule_id", "account_id"):
            if data.get(key) is None:
                data.pop(key, None)
        if data.get("meta") is None:
            data.pop("meta", None)
        elif isinstance(data["meta"], dict):
            data["meta"] = {str(k): str(v) for k, v in data["meta"].items()}
        return data

    @property
    def resolved(self) -> bool:
        return self.state == AlertState.RESOLVED


class AlertPage(WirePage[Alert]):
    ITEMS: ClassVar[str] = "alerts"
    alerts: list[Alert] = Field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0

    @model_validator(mode="before")
    @classmethod
    def _legacy_array(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"alerts": value, "total": len(value), "limit": len(value), "offset": 0}
        return value


class AlertRule(CagedModel):
    id: str
    account_id: str = ""
    type: AlertRuleType = AlertRuleType.BUDGET_EXCEEDED
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None

    @field_validator("config", mode="before")
    @classmethod
    def _config_none(cls, value: Any) -> Any:
        return {} if value is None else value


# --------------------------------------------------------------------------- notifications


class Notification(CagedModel):
    id: str
    account_id: str = ""
    alert_id: str | None = None
    channel: NotificationChannel = NotificationChannel.IN_APP
    title: str = ""
    message: str = Field(default="", validation_alias=AliasChoices("message", "body"))
    read: bool = False
    created_at: datetime | None = None
    # Local platform: the outcome of delivering to an external channel.
    delivered: bool | None = None
    delivery_error: str | None = None


class NotificationPage(WirePage[Notification]):
    ITEMS: ClassVar[str] = "notifications"
    notifications: list[Notification] = Field(default_factory=list)
    unread_count: int = Field(default=0, validation_alias=AliasChoices("unread_count", "count"))

    @model_validator(mode="before")
    @classmethod
    def _legacy_array(cls, value: Any) -> Any:
        if isinstance(value, list):
            unread = sum(1 for n in value if isinstance(n, dict) and not n.get("read"))
            return {"notifications": value, "unread_count": unread}
        return value


class UnreadCount(CagedModel):
    unread_count: int = Field(default=0, validation_alias=AliasChoices("unread_count", "count"))


class NotificationConfig(CagedModel):
    """Notification settings as read back: credentials only as hints."""

    account_id: str = ""
    enabled_channels: list[str] = Field(default_factory=list)
    slack_channel_id: str = ""
    email_address: str = ""
    slack_webhook_configured: bool = False
    slack_webhook_hint: str = ""
    slack_bot_token_configured: bool = False
    slack_bot_token_hint: str = ""
    discord_webhook_configured: bool = False
    discord_webhook_hint: str = ""

    @model_validator(mode="before")
    @classmethod
    def _nulls(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if v is not None}
        return value


class NotificationConfigUpdate(RequestModel):
    """Only the fields being changed; ``"__clear__"`` removes a stored webhook."""

    enabled_channels: list[str] | None = None
    slack_channel_id: str | None = None
    email_address: str | None = None
    slack_webhook_url: str | None = None
    discord_webhook_url: str | None = None

    CLEAR: ClassVar[str] = "__clear__"

    def __repr__(self) -> str:  # webhook URLs are credentials
        fields = sorted(self.model_fields_set)
        return f"NotificationConfigUpdate(fields={fields})"

    __str__ = __repr__


# --------------------------------------------------------------------------- billing


class Subscription(CagedModel):
    tier: str = Field(default="free", validation_alias=AliasChoices("tier", "plan"))
    status: str = ""
    customer_id: str = ""
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    trial_ends_at: datetime | None = None

    @property
    def plan(self) -> str:
        """The 0.2 name of :attr:`tier`."""
        return self.tier


class Usage(CagedModel):
    compute_minutes: float = 0.0
    reported_minutes: float = 0.0
    pending_seconds: float = 0.0
    last_reported_at: datetime | None = None


class CheckoutSession(CagedModel):
    url: str


class RateLimit(CagedModel):
    """The last rate-limit headers the client saw."""

    limit: int | None = None
    remaining: int | None = None
    reset: datetime | None = None
