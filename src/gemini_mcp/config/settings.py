"""Server settings: one pydantic model, read from the environment and overridden by CLI flags.

Credentials are read from the environment only and never echoed: `Settings` keeps the key as a
`SecretStr` and remembers *which variable* supplied it, so messages can name the variable, not the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Backend = Literal["gemini", "vertex"]

# SDK precedence (google-genai `_api_client.get_env_api_key`): GOOGLE_API_KEY wins over GEMINI_API_KEY.
# API_KEY is the name Gemini's app-building guidance uses; it comes last.
API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "API_KEY")
_TRUE = {"1", "true", "yes", "on"}


def _default_output_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gemini-mcp" / "media"


class EnvVar(BaseModel):
    """One documented environment variable (for --help, README and `doctor`)."""

    name: str
    meaning: str
    default: str = ""


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar(name="GOOGLE_API_KEY", meaning="Gemini / Vertex express-mode API key (wins over the next two)"),
    EnvVar(name="GEMINI_API_KEY", meaning="Gemini Developer API key"),
    EnvVar(name="API_KEY", meaning="API key, as Gemini's app-building guidance names it (lowest precedence)"),
    EnvVar(
        name="GOOGLE_GENAI_USE_VERTEXAI",
        meaning="true: use Vertex AI (Gemini Enterprise Agent Platform); needed for Imagen and Veo",
        default="false",
    ),
    EnvVar(name="GOOGLE_GENAI_USE_ENTERPRISE", meaning="the SDK's newer name for GOOGLE_GENAI_USE_VERTEXAI"),
    EnvVar(name="GOOGLE_CLOUD_PROJECT", meaning="Vertex project (with a location and application default creds)"),
    EnvVar(name="GOOGLE_CLOUD_LOCATION", meaning="Vertex location, e.g. us-central1", default="us-central1"),
    EnvVar(name="GOOGLE_GEMINI_BASE_URL", meaning="Developer API base URL override (e.g. the emulator)"),
    EnvVar(name="GOOGLE_VERTEX_BASE_URL", meaning="Vertex base URL override (e.g. the emulator)"),
    EnvVar(name="GEMINI_MCP_TIMEOUT", meaning="seconds one Gemini request may take", default="120"),
    EnvVar(
        name="GEMINI_MCP_CA_FILE",
        meaning="extra CA certificates (PEM) to trust for the Gemini endpoint: a TLS-inspecting proxy, or the emulator",
    ),
    EnvVar(
        name="GEMINI_MCP_MEDIA_URL_TTL",
        meaning="HTTP: seconds a signed /media/<id> download link stays valid",
        default="3600",
    ),
    EnvVar(
        name="GEMINI_MCP_CALL_DEADLINE",
        meaning="seconds one tool call may take in all, retries included (video tools: GEMINI_MCP_VIDEO_DEADLINE)",
        default="300",
    ),
    EnvVar(
        name="GEMINI_MCP_OUTPUT_DIR",
        meaning="where generated media is saved",
        default="~/.local/share/gemini-mcp/media",
    ),
    EnvVar(
        name="GEMINI_MCP_ALLOWED_DIRS",
        meaning="os.pathsep-separated folders local media paths may come from; a client's MCP roots can only "
        "narrow them, never widen them",
        default="the working directory",
    ),
    EnvVar(
        name="GEMINI_MCP_HTTP_CLIENT_ROOTS",
        meaning="HTTP: true lets a client's MCP roots narrow the allowed folders for its calls (ignored by default "
        "over HTTP; over stdio roots always narrow)",
        default="false",
    ),
    EnvVar(
        name="GEMINI_MCP_STDIO_MAX_LINE_MB",
        meaning="stdio: largest JSON-RPC message (one line) accepted; a longer one is refused with an error",
        default="128",
    ),
    EnvVar(
        name="GEMINI_MCP_MEDIA_MAX_MB",
        meaning="largest media file (path, URL or base64) a tool accepts, in MB",
        default="2048",
    ),
    EnvVar(
        name="GEMINI_MCP_URL_MAX_MB",
        meaning="largest download from a media URL, in MB",
        default="100",
    ),
    EnvVar(
        name="GEMINI_MCP_UPLOAD_ABOVE_MB",
        meaning="media inputs larger than this go through the Files API instead of inline (Gemini caps "
        "inline requests at 20 MB)",
        default="15",
    ),
    EnvVar(name="GEMINI_MCP_URL_TIMEOUT", meaning="seconds a media URL download may take", default="60"),
    EnvVar(
        name="GEMINI_MCP_ALLOW_PRIVATE_URLS",
        meaning="true: let media URLs point at loopback/private addresses (refused by default)",
        default="false",
    ),
    EnvVar(
        name="GEMINI_MCP_STATELESS",
        meaning="true: keep no per-client state in this process (for many HTTP replicas); chats and live "
        "sessions are refused",
        default="false",
    ),
    EnvVar(name="GEMINI_MCP_MAX_CONCURRENCY", meaning="Gemini requests in flight at once; more wait", default="16"),
    EnvVar(name="GEMINI_MCP_RETRIES", meaning="attempts for a Gemini request that fails transiently", default="4"),
    EnvVar(name="GEMINI_MCP_RETRY_DELAY", meaning="seconds before the first retry (doubles each time)", default="1"),
    EnvVar(name="GEMINI_MCP_CHAT_MAX_SESSIONS", meaning="chat sessions kept at once", default="100"),
    EnvVar(name="GEMINI_MCP_CHAT_IDLE_MINUTES", meaning="minutes an unused chat session is kept", default="60"),
    EnvVar(name="GEMINI_MCP_LIVE_MAX_SESSIONS", meaning="Live API sessions open at once", default="4"),
    EnvVar(name="GEMINI_MCP_LIVE_IDLE_SECONDS", meaning="seconds an unused Live session stays open", default="300"),
    EnvVar(name="GEMINI_MCP_VIDEO_DEADLINE", meaning="seconds generate_video waits for Veo", default="600"),
    EnvVar(name="GEMINI_MCP_VIDEO_POLL_SECONDS", meaning="seconds between Veo operation polls", default="5"),
    EnvVar(
        name="GEMINI_MCP_SHUTDOWN_GRACE",
        meaning="seconds running calls may finish after SIGTERM/SIGINT (or stdin closing, over stdio) before they "
        "are answered with an error and cancelled",
        default="10",
    ),
    EnvVar(
        name="GEMINI_MCP_AUTH_TOKEN", meaning="HTTP: static bearer token clients must send (compared in constant time)"
    ),
    EnvVar(name="GEMINI_MCP_OAUTH_ISSUER", meaning="HTTP: OAuth 2.1 issuer whose JWT access tokens are accepted"),
    EnvVar(name="GEMINI_MCP_OAUTH_JWKS_URL", meaning="HTTP: JWKS URL of the issuer's signing keys"),
    EnvVar(
        name="GEMINI_MCP_OAUTH_AUDIENCE",
        meaning="HTTP: required token audience (RFC 8707 resource)",
        default="GEMINI_MCP_PUBLIC_URL + /mcp",
    ),
    EnvVar(name="GEMINI_MCP_PUBLIC_URL", meaning="HTTP: the server's public base URL (for OAuth metadata)"),
    EnvVar(name="GEMINI_MCP_ALLOWED_HOSTS", meaning="HTTP: comma-separated Host header values accepted (host:port)"),
    EnvVar(name="GEMINI_MCP_ALLOWED_ORIGINS", meaning="HTTP: comma-separated browser Origins accepted"),
    EnvVar(name="GEMINI_MCP_HTTP_MAX_BODY_MB", meaning="HTTP: largest request body accepted", default="4"),
    EnvVar(
        name="GEMINI_MCP_RATE_LIMIT",
        meaning="HTTP: requests per minute per authenticated client, or per address before auth (0 = off)",
        default="600",
    ),
    EnvVar(name="GEMINI_MCP_HTTP_MAX_SESSIONS", meaning="HTTP: MCP sessions open at once", default="1000"),
    EnvVar(
        name="GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES",
        meaning="HTTP: minutes an MCP session with no requests is kept before it is closed",
        default="30",
    ),
    EnvVar(
        name="GEMINI_MCP_STATE_KEYS",
        meaning="HTTP: comma-separated secrets sealing request state, shared by all replicas (first one seals)",
    ),
    EnvVar(
        name="GEMINI_MCP_LOG_LEVEL",
        meaning="DEBUG, INFO, WARNING or ERROR (logs go to stderr)",
        default="INFO",
    ),
)


class Settings(BaseModel):
    """Everything the server needs to know, resolved once at start-up."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr | None = Field(default=None, repr=False)
    api_key_variable: str | None = None
    backend: Backend = "gemini"
    project: str | None = None
    location: str | None = None
    gemini_base_url: str | None = None
    vertex_base_url: str | None = None
    api_version: str | None = None
    request_timeout_s: float = 120.0
    call_deadline_s: float = Field(default=300, gt=0)
    ca_file: Path | None = None
    media_url_ttl_s: float = Field(default=3600, gt=0)
    output_dir: Path = Field(default_factory=_default_output_dir)
    allowed_dirs: tuple[Path, ...] = ()
    inline_max_bytes: int = Field(default=1024 * 1024, ge=0)
    output_max_mb: float = Field(default=2048, gt=0)
    output_max_age_hours: float = Field(default=168, gt=0)
    media_max_mb: float = Field(default=2048, gt=0)
    upload_above_mb: float = Field(default=15, ge=0)
    url_max_mb: float = Field(default=100, gt=0)
    url_timeout_s: float = Field(default=60, gt=0)
    allow_private_urls: bool = False
    http_client_roots: bool = False  # over HTTP, client roots narrow the allowed folders only when opted in
    stdio_max_line_mb: float = Field(default=128, gt=0)
    stateless: bool = False
    max_concurrency: int = Field(default=16, ge=1)
    retries: int = Field(default=4, ge=1)
    retry_delay_s: float = Field(default=1.0, ge=0)
    chat_max_sessions: int = Field(default=100, ge=1)
    chat_idle_minutes: float = Field(default=60, gt=0)
    live_max_sessions: int = Field(default=4, ge=1)
    live_idle_seconds: float = Field(default=300, gt=0)
    video_deadline_s: float = Field(default=600, gt=0)
    video_poll_s: float = Field(default=5, gt=0)
    shutdown_grace_s: float = Field(default=10, ge=0)
    auth_token: SecretStr | None = Field(default=None, repr=False)
    oauth_issuer: str | None = None
    oauth_jwks_url: str | None = None
    oauth_audience: str | None = None
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    http_max_body_mb: float = Field(default=4, gt=0)
    rate_limit_per_minute: int = Field(default=600, ge=0)
    http_max_sessions: int = Field(default=1000, ge=1)
    http_session_idle_minutes: float = Field(default=30, gt=0)
    state_keys: tuple[SecretStr, ...] = Field(default=(), repr=False)
    legacy_sse: bool = False
    demo: bool = False  # `gemini-mcp --demo`: the built-in emulator answers, and every result says so
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for variable in API_KEY_VARIABLES:
            if env.get(variable, "").strip():
                values["api_key"] = SecretStr(env[variable].strip())
                values["api_key_variable"] = variable
                break
        use_vertex = env.get("GOOGLE_GENAI_USE_VERTEXAI") or env.get("GOOGLE_GENAI_USE_ENTERPRISE") or ""
        values["backend"] = "vertex" if use_vertex.strip().lower() in _TRUE else "gemini"
        _copy(env, values, project="GOOGLE_CLOUD_PROJECT", location="GOOGLE_CLOUD_LOCATION")
        _copy(env, values, gemini_base_url="GOOGLE_GEMINI_BASE_URL", vertex_base_url="GOOGLE_VERTEX_BASE_URL")
        _copy(env, values, api_version="GOOGLE_GENAI_API_VERSION", output_dir="GEMINI_MCP_OUTPUT_DIR")
        _copy(env, values, request_timeout_s="GEMINI_MCP_TIMEOUT", inline_max_bytes="GEMINI_MCP_INLINE_MAX_BYTES")
        _copy(env, values, call_deadline_s="GEMINI_MCP_CALL_DEADLINE", ca_file="GEMINI_MCP_CA_FILE")
        _copy(env, values, media_url_ttl_s="GEMINI_MCP_MEDIA_URL_TTL")
        _copy(
            env,
            values,
            output_max_mb="GEMINI_MCP_OUTPUT_MAX_MB",
            output_max_age_hours="GEMINI_MCP_OUTPUT_MAX_AGE_HOURS",
        )
        _copy(env, values, media_max_mb="GEMINI_MCP_MEDIA_MAX_MB", url_max_mb="GEMINI_MCP_URL_MAX_MB")
        _copy(env, values, url_timeout_s="GEMINI_MCP_URL_TIMEOUT", upload_above_mb="GEMINI_MCP_UPLOAD_ABOVE_MB")
        values["allow_private_urls"] = env.get("GEMINI_MCP_ALLOW_PRIVATE_URLS", "").strip().lower() in _TRUE
        values["stateless"] = env.get("GEMINI_MCP_STATELESS", "").strip().lower() in _TRUE
        values["http_client_roots"] = env.get("GEMINI_MCP_HTTP_CLIENT_ROOTS", "").strip().lower() in _TRUE
        _copy(env, values, stdio_max_line_mb="GEMINI_MCP_STDIO_MAX_LINE_MB")
        _copy(
            env,
            values,
            http_max_sessions="GEMINI_MCP_HTTP_MAX_SESSIONS",
            http_session_idle_minutes="GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES",
        )
        _copy(env, values, max_concurrency="GEMINI_MCP_MAX_CONCURRENCY", retries="GEMINI_MCP_RETRIES")
        _copy(env, values, retry_delay_s="GEMINI_MCP_RETRY_DELAY")
        _copy(
            env,
            values,
            chat_max_sessions="GEMINI_MCP_CHAT_MAX_SESSIONS",
            chat_idle_minutes="GEMINI_MCP_CHAT_IDLE_MINUTES",
        )
        _copy(
            env,
            values,
            live_max_sessions="GEMINI_MCP_LIVE_MAX_SESSIONS",
            live_idle_seconds="GEMINI_MCP_LIVE_IDLE_SECONDS",
        )
        _copy(env, values, video_deadline_s="GEMINI_MCP_VIDEO_DEADLINE", video_poll_s="GEMINI_MCP_VIDEO_POLL_SECONDS")
        _copy(env, values, shutdown_grace_s="GEMINI_MCP_SHUTDOWN_GRACE")
        if token := env.get("GEMINI_MCP_AUTH_TOKEN", "").strip():
            values["auth_token"] = SecretStr(token)
        _copy(env, values, oauth_issuer="GEMINI_MCP_OAUTH_ISSUER", oauth_jwks_url="GEMINI_MCP_OAUTH_JWKS_URL")
        _copy(env, values, oauth_audience="GEMINI_MCP_OAUTH_AUDIENCE", public_url="GEMINI_MCP_PUBLIC_URL")
        _copy(
            env, values, http_max_body_mb="GEMINI_MCP_HTTP_MAX_BODY_MB", rate_limit_per_minute="GEMINI_MCP_RATE_LIMIT"
        )
        for field, variable in (
            ("allowed_hosts", "GEMINI_MCP_ALLOWED_HOSTS"),
            ("allowed_origins", "GEMINI_MCP_ALLOWED_ORIGINS"),
        ):
            if items := [item.strip() for item in env.get(variable, "").split(",") if item.strip()]:
                values[field] = tuple(items)
        if keys := [SecretStr(k.strip()) for k in env.get("GEMINI_MCP_STATE_KEYS", "").split(",") if k.strip()]:
            values["state_keys"] = tuple(keys)
        if level := env.get("GEMINI_MCP_LOG_LEVEL", "").strip():
            values["log_level"] = level.upper()
        if dirs := env.get("GEMINI_MCP_ALLOWED_DIRS", "").strip():
            values["allowed_dirs"] = tuple(Path(d).expanduser() for d in dirs.split(os.pathsep) if d.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)

    @property
    def uses_project(self) -> bool:
        """Vertex with project + location (application default credentials) rather than an API key.

        As in the SDK, a project from the environment wins over an API key from the environment.
        """
        return self.backend == "vertex" and bool(self.project)

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None or self.uses_project

    @property
    def base_url(self) -> str | None:
        return self.vertex_base_url if self.backend == "vertex" else self.gemini_base_url

    def missing_credentials_message(self) -> str:
        if self.backend == "vertex":
            return (
                "No Vertex AI credentials: set GOOGLE_API_KEY to a Vertex express-mode API key, or set "
                "GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION and sign in with "
                "'gcloud auth application-default login'; then restart the server"
            )
        return (
            "No Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) in the environment the MCP host starts "
            "this server with (the 'env' block of its config), then restart the server. Get a key at "
            "https://aistudio.google.com/apikey. To try every tool offline first, run 'gemini-mcp --demo'"
        )

    def secrets(self) -> list[str]:
        """Values that must never appear in output, logs or errors."""
        values = [self.api_key, self.auth_token, *self.state_keys]
        return [v.get_secret_value() for v in values if v is not None]

    @property
    def auth_configured(self) -> bool:
        return self.auth_token is not None or self.oauth_issuer is not None


def _copy(env: Mapping[str, str], values: dict[str, Any], **fields: str) -> None:
    for field, variable in fields.items():
        value = env.get(variable, "").strip()
        if value:
            values[field] = value
