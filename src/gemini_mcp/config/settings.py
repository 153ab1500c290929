"""Server settings: ONE table, declared on the fields of `Settings`.

Each field that the environment can set carries an `Env` in its annotation: the variable(s), what it means,
which transport it applies to, how the raw text is parsed. The field itself holds the type (a `SecretStr`
type makes it a secret), the constraints and the default. `SETTINGS` is read off the model once at import,
and everything else comes from it: `Settings.from_env`, `gemini-mcp --help` (`help_text`), `gemini-mcp
doctor` (`variables_set`, `unknown_variables`) and the README's configuration table (`markdown_table`,
written by `python -m gemini_mcp.config --update README.md`; tests/test_settings_table.py checks it).

Credentials are read from the environment only and never echoed: secrets are `SecretStr`, an error about a
secret never shows its value, and `Settings` remembers *which variable* supplied the key, so messages can
name the variable, not the value.
"""

# No `from __future__ import annotations`: pydantic would then compile every field's annotation from its text
# at import, which costs start-up milliseconds on every launch.
import os
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo

Backend = Literal["gemini", "vertex"]
Transport = Literal["all", "stdio", "http"]

# SDK precedence (google-genai `_api_client.get_env_api_key`): GOOGLE_API_KEY wins over GEMINI_API_KEY.
# API_KEY is the name Gemini's app-building guidance uses; it comes last.
API_KEY_VARIABLES = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "API_KEY")
PREFIX = "GEMINI_MCP_"
_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n"}


class Env:
    """How one Settings field is read from the environment and documented (markdown allowed in the text).

    A plain class, not a dataclass: generating dataclass methods costs start-up time on every launch."""

    __slots__ = ("default", "default_note", "expects", "inherit", "meaning", "names", "parse", "records", "transport")

    def __init__(
        self,
        names: str | tuple[str, ...],
        meaning: str,
        *,
        transport: Transport = "all",
        parse: Callable[[str], Any] | None = None,
        default: str | None = None,
        default_note: str | None = None,
        expects: str | None = None,
        inherit: bool = False,
        records: str | None = None,
    ) -> None:
        self.names = (names,) if isinstance(names, str) else names  # several: the first one set wins
        self.meaning = meaning
        self.transport = transport
        self.parse = parse  # raw text (stripped, non-empty) → value for validation; default: the text itself
        self.default = default  # a literal value that behaves as the default, when the field's is not one
        self.default_note = default_note  # the default in words, when no literal value says it
        self.expects = expects  # what a valid value looks like, when the type does not say it well
        # Where this user's files live belongs to the account, not to one server configuration: a caller that
        # hands `from_env` a mapping without it still gets the process's value.
        self.inherit = inherit
        self.records = records  # a field that receives the name of the variable that supplied the value

    def __repr__(self) -> str:
        return f"Env({self.names!r})"


def _text(raw: str) -> str:
    return raw


def _path(raw: str) -> Path:
    return Path(raw).expanduser()  # hosts pass env blocks through without a shell: nothing expands `~`


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(d.strip()).expanduser() for d in raw.split(os.pathsep) if d.strip())


def _commas(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _names(raw: str) -> tuple[str, ...]:
    return tuple(item.lower() for item in _commas(raw))


def _upper(raw: str) -> str:
    return raw.upper()


def _backend(raw: str) -> Backend:
    if raw.lower() in _TRUE:
        return "vertex"
    if raw.lower() in _FALSE:
        return "gemini"
    raise ValueError("expected true or false")


def _home_subfolder(*parts: str) -> Callable[[], Path]:
    return lambda: Path.home().joinpath(*parts)


def _output_dir(data: dict[str, Any]) -> Path:
    return Path(data.get("xdg_data_home") or Path.home() / ".local" / "share") / "gemini-mcp" / "media"


class Settings(BaseModel):
    """Everything the server needs to know, resolved once at start-up."""

    model_config = ConfigDict(frozen=True)

    # --- credentials and backend -------------------------------------------------------------------------
    api_key: Annotated[
        SecretStr | None,
        Env(
            API_KEY_VARIABLES,
            "the API key: Gemini Developer API (get one at https://aistudio.google.com/apikey), or Vertex AI "
            "express mode. The first one set wins, in this order, as in the SDK; `API_KEY` is the name Gemini's "
            "app-building guidance uses",
            records="api_key_variable",
        ),
    ] = Field(default=None, repr=False)
    api_key_variable: str | None = None
    backend: Annotated[
        Backend,
        Env(
            ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE"),
            '`true`: use Vertex AI ("Gemini Enterprise Agent Platform"), needed for Imagen and Veo; '
            "`GOOGLE_GENAI_USE_ENTERPRISE` is the SDK's newer name",
            parse=_backend,
            default="false",
            expects="true or false",
        ),
    ] = "gemini"
    project: Annotated[
        str | None,
        Env(
            "GOOGLE_CLOUD_PROJECT",
            "Vertex project, used with application default credentials (`gcloud auth application-default "
            "login`); a project wins over an API key, as in the SDK",
        ),
    ] = None
    location: Annotated[str, Env("GOOGLE_CLOUD_LOCATION", "Vertex location")] = "us-central1"
    gemini_base_url: Annotated[
        str | None,
        Env(
            "GOOGLE_GEMINI_BASE_URL", "Developer API base URL override (the emulator, a proxy)", default_note="Google's"
        ),
    ] = None
    vertex_base_url: Annotated[
        str | None,
        Env("GOOGLE_VERTEX_BASE_URL", "Vertex AI base URL override (the emulator, a proxy)", default_note="Google's"),
    ] = None
    api_version: Annotated[
        str | None,
        Env("GOOGLE_GENAI_API_VERSION", "API version the SDK calls, e.g. `v1alpha`", default_note="the SDK's"),
    ] = None
    ca_file: Annotated[
        Path | None,
        Env(
            "GEMINI_MCP_CA_FILE",
            "extra CA certificates (PEM) to trust for the Gemini endpoint: a TLS-inspecting proxy, or the emulator "
            "over TLS (the Live API is always `wss://`)",
            parse=_path,
        ),
    ] = None

    # --- requests ----------------------------------------------------------------------------------------
    request_timeout_s: Annotated[
        float, Env("GEMINI_MCP_TIMEOUT", "seconds one Gemini request (one attempt) may take"), Field(gt=0)
    ] = 120.0
    call_deadline_s: Annotated[
        float,
        Env(
            "GEMINI_MCP_CALL_DEADLINE",
            "seconds one tool call may take in all, retries included (video tools use `GEMINI_MCP_VIDEO_DEADLINE`)",
        ),
        Field(gt=0),
    ] = 300
    max_concurrency: Annotated[
        int,
        Env(
            "GEMINI_MCP_MAX_CONCURRENCY",
            "Gemini requests in flight at once; further calls wait their turn (lower it for a small quota)",
        ),
        Field(ge=1),
    ] = 32
    retries: Annotated[
        int,
        Env("GEMINI_MCP_RETRIES", "attempts for a request that fails transiently (408, 429, 5xx, connection errors)"),
        Field(ge=1),
    ] = 4
    retry_delay_s: Annotated[
        float,
        Env(
            "GEMINI_MCP_RETRY_DELAY", "seconds before the first retry; doubles each attempt (at most 30 s), with jitter"
        ),
        Field(ge=0),
    ] = 1.0
    video_deadline_s: Annotated[
        float,
        Env(
            "GEMINI_MCP_VIDEO_DEADLINE",
            "seconds `generate_video` (Omni or Veo) and `generate_music` wait for the result",
        ),
        Field(gt=0),
    ] = 600
    video_poll_s: Annotated[
        float, Env("GEMINI_MCP_VIDEO_POLL_SECONDS", "seconds between checks on a video or music job"), Field(gt=0)
    ] = 5
    research_deadline_s: Annotated[
        float,
        Env(
            "GEMINI_MCP_RESEARCH_DEADLINE",
            "seconds `deep_research` (or `get_job` with wait) waits for a report; it keeps running after, collect it "
            "with `get_job`",
        ),
        Field(gt=0),
    ] = 1800
    research_poll_s: Annotated[
        float, Env("GEMINI_MCP_RESEARCH_POLL_SECONDS", "seconds between checks on a Deep Research report"), Field(gt=0)
    ] = 10
    batch_deadline_s: Annotated[
        float,
        Env("GEMINI_MCP_BATCH_DEADLINE", "seconds `batch_generate` (wait=true) or `get_job` waits for a batch"),
        Field(gt=0),
    ] = 600
    batch_poll_s: Annotated[
        float, Env("GEMINI_MCP_BATCH_POLL_SECONDS", "seconds between checks on a batch"), Field(gt=0)
    ] = 30
    batch_inline_max_mb: Annotated[
        float,
        Env(
            "GEMINI_MCP_BATCH_INLINE_MAX_MB",
            "MB of batch requests sent inline; larger batches go as an uploaded JSONL file (the API's inline limit "
            "is 20 MB)",
        ),
        Field(gt=0, le=20),
    ] = 10
    import_deadline_s: Annotated[
        float,
        Env("GEMINI_MCP_IMPORT_DEADLINE", "seconds `add_to_file_search_store` waits for documents to be indexed"),
        Field(gt=0),
    ] = 600
    import_poll_s: Annotated[
        float, Env("GEMINI_MCP_IMPORT_POLL_SECONDS", "seconds between checks on a File Search import"), Field(gt=0)
    ] = 2
    models_file: Annotated[
        Path | None,
        Env(
            "GEMINI_MCP_MODELS_FILE",
            "a JSON file laid over the model catalog (same shape as `gemini/model_catalog.json`): add models, "
            "aliases or retirements without a release; re-read when it changes",
            parse=_path,
        ),
    ] = None
    models_ttl_s: Annotated[
        float,
        Env("GEMINI_MCP_MODELS_TTL", "seconds the API's model list (`models.list`) is cached; 0: ask every time"),
        Field(ge=0),
    ] = 3600

    # --- which tools are offered (framework/toolsets.py; names are checked against the catalog at start) --
    toolsets: Annotated[
        tuple[str, ...],
        Env(
            "GEMINI_MCP_TOOLSETS",
            "comma-separated toolsets to offer (`--toolsets`): `text`, `understanding`, `functions`, `search`, "
            "`chats`, `embeddings`, `images`, `speech`, `video`, `live`, `models`, `jobs`, `music`, `research`, "
            "`transcription`, `spend`, `files`, `caches`, `file_search`, `batch`, or the groups `media` (images, "
            "speech, video), `knowledge` (files, caches, file_search, batch), `default` (all but knowledge) or "
            "`all`; a toolset with long-running jobs (video, music, research, file_search, batch) brings "
            "`get_job`/`cancel_job`",
            parse=_names,
            default_note=(
                "`default`: every toolset but `knowledge` (only the tools of `GEMINI_MCP_TOOLS`, when that alone "
                "is set)"
            ),
        ),
    ] = ()
    tools: Annotated[
        tuple[str, ...],
        Env(
            "GEMINI_MCP_TOOLS",
            "comma-separated single tools to offer besides the toolsets (`--tools`), e.g. `generate_text,list_models`",
            parse=_names,
        ),
    ] = ()
    exclude_tools: Annotated[
        tuple[str, ...],
        Env(
            "GEMINI_MCP_EXCLUDE_TOOLS",
            "comma-separated tools never offered (`--exclude-tools`); wins over the toolsets and `GEMINI_MCP_TOOLS`",
            parse=_names,
        ),
    ] = ()
    read_only: Annotated[
        bool,
        Env(
            "GEMINI_MCP_READ_ONLY",
            "`true` offers only the tools annotated read-only (`--read-only`): nothing that saves media, keeps a "
            "session or starts a job",
        ),
    ] = False

    # --- files and media ---------------------------------------------------------------------------------
    xdg_data_home: Annotated[
        Path,
        Env(
            "XDG_DATA_HOME",
            "this user's data folder (XDG); the default output folder is inside it",
            parse=_path,
            default_note="`~/.local/share`",
            inherit=True,
        ),
    ] = Field(default_factory=_home_subfolder(".local", "share"))
    xdg_cache_home: Annotated[
        Path,
        Env(
            "XDG_CACHE_HOME",
            "this user's cache folder (XDG); the tool-schema cache is kept in `gemini-mcp/` inside it",
            parse=_path,
            default_note="`~/.cache`",
            inherit=True,
        ),
    ] = Field(default_factory=_home_subfolder(".cache"))
    schema_cache: Annotated[
        bool,
        Env(
            "GEMINI_MCP_SCHEMA_CACHE",
            "`false`: do not cache the tools' schemas on disk (every start then rebuilds them)",
            inherit=True,
        ),
    ] = True
    output_dir: Annotated[
        Path,
        Env(
            "GEMINI_MCP_OUTPUT_DIR",
            "where generated media is saved",
            parse=_path,
            default_note="`~/.local/share/gemini-mcp/media` (inside `XDG_DATA_HOME` when that is set)",
        ),
    ] = Field(default_factory=_output_dir)
    allowed_dirs: Annotated[
        tuple[Path, ...],
        Env(
            "GEMINI_MCP_ALLOWED_DIRS",
            "folders (separated by `:`, `;` on Windows) local media paths may come from: the ceiling, which a client's "
            "MCP roots can only narrow, never widen",
            parse=_paths,
            default_note="the working directory",
        ),
    ] = ()
    http_client_roots: Annotated[
        bool,
        Env(
            "GEMINI_MCP_HTTP_CLIENT_ROOTS",
            "`true` lets a client's MCP roots narrow the allowed folders for its calls (ignored by default over "
            "HTTP; over stdio roots always narrow)",
            transport="http",
        ),
    ] = False
    inline_max_bytes: Annotated[
        int,
        Env("GEMINI_MCP_INLINE_MAX_BYTES", "generated media up to this size is also returned inline (base64)"),
        Field(ge=0),
    ] = 1024 * 1024
    output_max_mb: Annotated[
        float,
        Env("GEMINI_MCP_OUTPUT_MAX_MB", "retention: MB of saved media kept; the oldest files are removed first"),
        Field(gt=0),
    ] = 2048
    output_max_age_hours: Annotated[
        float, Env("GEMINI_MCP_OUTPUT_MAX_AGE_HOURS", "retention: hours a saved media file is kept"), Field(gt=0)
    ] = 168
    media_max_mb: Annotated[
        float,
        Env("GEMINI_MCP_MEDIA_MAX_MB", "largest media input (path, URL or base64) a tool accepts, in MB"),
        Field(gt=0),
    ] = 2048
    upload_above_mb: Annotated[
        float,
        Env(
            "GEMINI_MCP_UPLOAD_ABOVE_MB",
            "media inputs above this many MB go through the Files API (local files streamed from disk) instead of "
            "inline: inline costs ~10 ms of server CPU per MB, an upload 2-4 extra round trips "
            "(benchmarks/large_upload.py)",
        ),
        Field(ge=0),
    ] = 5
    url_max_mb: Annotated[
        float, Env("GEMINI_MCP_URL_MAX_MB", "largest download from a media URL, in MB"), Field(gt=0)
    ] = 100
    url_timeout_s: Annotated[
        float, Env("GEMINI_MCP_URL_TIMEOUT", "seconds a media URL download may take"), Field(gt=0)
    ] = 60
    allow_private_urls: Annotated[
        bool,
        Env(
            "GEMINI_MCP_ALLOW_PRIVATE_URLS",
            "`true` lets media URLs point at loopback/private addresses (refused by default)",
        ),
    ] = False
    media_url_ttl_s: Annotated[
        float,
        Env("GEMINI_MCP_MEDIA_URL_TTL", "seconds a signed `/media/<id>` download link stays valid", transport="http"),
        Field(gt=0),
    ] = 3600

    # --- spend: prices, budgets, the ledger --------------------------------------------------------------
    prices_file: Annotated[
        Path | None,
        Env(
            "GEMINI_MCP_PRICES_FILE",
            "a JSON file of local prices laid over the shipped table (same shape as `gemini/prices.json`; its "
            "models replace the shipped ones by id)",
            parse=_path,
        ),
    ] = None
    ledger_url: Annotated[
        str | None,
        Env(
            "GEMINI_MCP_LEDGER_URL",
            "where the spend ledger and budgets live: `redis://…` shares them between replicas; a path or "
            "`sqlite:///path` names the SQLite file",
            default_note="`spend.sqlite3` in `~/.local/share/gemini-mcp` (inside `XDG_DATA_HOME` when set)",
        ),
    ] = Field(default=None, repr=False)  # a password in the URL is redacted like a key (`secrets`)
    budget_daily_usd: Annotated[
        float,
        Env(
            "GEMINI_MCP_BUDGET_DAILY_USD",
            "USD the paid tools may spend per UTC day, all clients of the ledger together (0 = no limit)",
        ),
        Field(ge=0),
    ] = 0
    budget_session_usd: Annotated[
        float,
        Env(
            "GEMINI_MCP_BUDGET_SESSION_USD",
            "USD the paid tools may spend per MCP session; stdio: per server run (0 = no limit)",
        ),
        Field(ge=0),
    ] = 0
    budget_client_daily_usd: Annotated[
        float,
        Env(
            "GEMINI_MCP_BUDGET_CLIENT_DAILY_USD",
            "USD each authenticated client (token or OAuth identity) may spend per UTC day (0 = no limit)",
            transport="http",
        ),
        Field(ge=0),
    ] = 0
    confirm_above_usd: Annotated[
        float,
        Env(
            "GEMINI_MCP_CONFIRM_ABOVE_USD",
            "a paid call estimated above this many USD needs the user's confirmation: MCP elicitation, else the "
            "`confirm_cost` argument (0 = off)",
        ),
        Field(ge=0),
    ] = 0

    # --- sessions and lifecycle --------------------------------------------------------------------------
    stateless: Annotated[
        bool,
        Env(
            "GEMINI_MCP_STATELESS",
            "`true` keeps no per-client state in the process (many replicas): chats are stored by the Gemini API "
            "(Developer API; refused on Vertex AI), live sessions are refused",
            transport="http",
        ),
    ] = False
    chat_max_sessions: Annotated[
        int, Env("GEMINI_MCP_CHAT_MAX_SESSIONS", "chat sessions kept at once"), Field(ge=1)
    ] = 100
    chat_idle_minutes: Annotated[
        float, Env("GEMINI_MCP_CHAT_IDLE_MINUTES", "minutes an unused chat session is kept"), Field(gt=0)
    ] = 60
    live_max_sessions: Annotated[
        int, Env("GEMINI_MCP_LIVE_MAX_SESSIONS", "Live API sessions open at once"), Field(ge=1)
    ] = 4
    live_idle_seconds: Annotated[
        float, Env("GEMINI_MCP_LIVE_IDLE_SECONDS", "seconds an unused Live session stays open"), Field(gt=0)
    ] = 300
    stdio_max_line_mb: Annotated[
        float,
        Env(
            "GEMINI_MCP_STDIO_MAX_LINE_MB",
            "largest JSON-RPC message (one line) accepted, in MB; a longer one is refused with an error and the "
            "server keeps serving",
            transport="stdio",
        ),
        Field(gt=0),
    ] = 128
    shutdown_grace_s: Annotated[
        float,
        Env(
            "GEMINI_MCP_SHUTDOWN_GRACE",
            "seconds in-flight calls may finish after SIGTERM/SIGINT (or, over stdio, stdin closing) before they "
            "are answered with an error and cancelled",
        ),
        Field(ge=0),
    ] = 10
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        Env(
            "GEMINI_MCP_LOG_LEVEL",
            "`DEBUG`, `INFO`, `WARNING` or `ERROR`; logs go to stderr, keys redacted",
            parse=_upper,
        ),
    ] = "INFO"

    # --- HTTP: authentication and hardening --------------------------------------------------------------
    auth_token: Annotated[
        SecretStr | None,
        Env(
            "GEMINI_MCP_AUTH_TOKEN",
            "static bearer token clients must send (compared in constant time)",
            transport="http",
        ),
    ] = Field(default=None, repr=False)
    oauth_issuer: Annotated[
        str | None,
        Env("GEMINI_MCP_OAUTH_ISSUER", "OAuth 2.1 issuer whose JWT access tokens are accepted", transport="http"),
    ] = None
    oauth_jwks_url: Annotated[
        str | None, Env("GEMINI_MCP_OAUTH_JWKS_URL", "JWKS URL of the issuer's signing keys", transport="http")
    ] = None
    oauth_audience: Annotated[
        str | None,
        Env(
            "GEMINI_MCP_OAUTH_AUDIENCE",
            "required token audience (RFC 8707 resource)",
            transport="http",
            default_note="`GEMINI_MCP_PUBLIC_URL` + `/mcp`",
        ),
    ] = None
    public_url: Annotated[
        str | None,
        Env("GEMINI_MCP_PUBLIC_URL", "the server's public base URL (for OAuth metadata)", transport="http"),
    ] = None
    allowed_hosts: Annotated[
        tuple[str, ...],
        Env(
            "GEMINI_MCP_ALLOWED_HOSTS",
            "comma-separated `Host` header values accepted (`host:port`)",
            transport="http",
            parse=_commas,
            default_note="on a loopback bind, its loopback names (`127.0.0.1`, `localhost`, `[::1]`); otherwise any",
        ),
    ] = ()
    allowed_origins: Annotated[
        tuple[str, ...],
        Env(
            "GEMINI_MCP_ALLOWED_ORIGINS",
            "comma-separated browser Origins accepted",
            transport="http",
            parse=_commas,
            default_note="on a loopback bind, loopback origins; otherwise none (browsers are kept out)",
        ),
    ] = ()
    http_max_body_mb: Annotated[
        float,
        Env("GEMINI_MCP_HTTP_MAX_BODY_MB", "largest request body accepted, in MB", transport="http"),
        Field(gt=0),
    ] = 4
    rate_limit_per_minute: Annotated[
        int,
        Env(
            "GEMINI_MCP_RATE_LIMIT",
            "requests a minute per authenticated client, or per address before auth (0 = off)",
            transport="http",
        ),
        Field(ge=0),
    ] = 600
    http_max_sessions: Annotated[
        int, Env("GEMINI_MCP_HTTP_MAX_SESSIONS", "MCP sessions open at once", transport="http"), Field(ge=1)
    ] = 1000
    http_session_idle_minutes: Annotated[
        float,
        Env(
            "GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES",
            "minutes an MCP session with no requests is kept before it is closed",
            transport="http",
        ),
        Field(gt=0),
    ] = 30
    state_keys: Annotated[
        tuple[SecretStr, ...],
        Env(
            "GEMINI_MCP_STATE_KEYS",
            "comma-separated secrets sealing request state, shared by all replicas (the first one seals)",
            transport="http",
            parse=_commas,
        ),
    ] = Field(default=(), repr=False)

    # --- set by command-line flags only ------------------------------------------------------------------
    legacy_sse: bool = False
    demo: bool = False  # `gemini-mcp --demo`: the built-in emulator answers, and every result says so
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """The settings from `environ` (default: this process's environment), then `overrides` (CLI flags; None
        means not given). A bad value raises `SettingsError`, naming the variable and what it expects."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        supplied: dict[str, tuple[Setting, str, str]] = {}  # field → (setting, variable, raw text)
        problems: list[str] = []
        for setting in SETTINGS:
            found = setting.lookup(env)
            if found is None:
                continue
            variable, raw = found
            try:
                values[setting.field] = setting.parse(raw)
            except ValueError:
                problems.append(setting.problem(variable, raw))
                continue
            supplied[setting.field] = (setting, variable, raw)
            if setting.env.records:
                values[setting.env.records] = variable
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = cls.model_validate(values)
        except ValidationError as exc:
            problems.extend(_problems(exc, supplied))
            raise SettingsError(problems) from None
        if problems:
            raise SettingsError(problems)
        return settings

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

    @property
    def schema_cache_dir(self) -> Path | None:
        """Where the tool-schema cache lives, or None when it is switched off."""
        return self.xdg_cache_home / "gemini-mcp" if self.schema_cache else None

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
        found = [v.get_secret_value() for v in values if v is not None]
        password = _url_password(self.ledger_url)
        return [*found, password] if password else found

    @property
    def auth_configured(self) -> bool:
        return self.auth_token is not None or self.oauth_issuer is not None


def _url_password(url: str | None) -> str | None:
    """The password in a `scheme://user:password@host` URL (the Redis ledger's), or None."""
    if not url or "@" not in url:
        return None
    credentials = url.partition("://")[2].rpartition("@")[0]
    password = credentials.partition(":")[2] if ":" in credentials else credentials
    return password or None


class SettingsError(ValueError):
    """One or more environment variables hold values the server cannot use; each problem names the variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Setting:
    """One row of the settings table: a Settings field and how the environment sets it."""

    __slots__ = ("env", "field", "info", "names")

    def __init__(self, field: str, env: Env, info: FieldInfo) -> None:
        self.field = field
        self.env = env
        self.info = info
        self.names = env.names

    def __repr__(self) -> str:
        return f"Setting({self.field!r}, {', '.join(self.names)})"

    @property
    def secret(self) -> bool:
        return _mentions(self.info.annotation, SecretStr)

    @property
    def meaning(self) -> str:
        tag = {"all": "", "stdio": "stdio: ", "http": "HTTP: "}[self.env.transport]
        return tag + self.env.meaning

    def lookup(self, env: Mapping[str, str]) -> tuple[str, str] | None:
        """(variable, stripped text) of the first of this setting's variables that is set, or None."""
        for name in self.names:
            raw = env.get(name)
            if raw is None and self.env.inherit and env is not os.environ:
                raw = os.environ.get(name)
            if raw is not None and (raw := raw.strip()):
                return name, raw
        return None

    def parse(self, raw: str) -> Any:
        return (self.env.parse or _text)(raw)

    @property
    def default_literal(self) -> str | None:
        """The default as a value one could write in the variable (None when only words describe it)."""
        if self.env.default is not None:
            return self.env.default
        if self.env.default_note is not None or self.info.default_factory is not None:
            return None
        return _literal(self.info.default)

    def default_markdown(self) -> str:
        if self.env.default_note is not None:
            return self.env.default_note
        literal = self.default_literal
        return f"`{literal}`" if literal else "—"

    def default_text(self) -> str:
        return _plain(self.default_markdown())

    def expects(self) -> str:
        if self.env.expects:
            return self.env.expects
        annotation = _unwrap(self.info.annotation)
        if get_origin(annotation) is Literal:
            return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
        kind = {float: "a number", int: "a whole number", bool: "true or false", Path: "a path"}.get(annotation, "text")
        for constraint in self.info.metadata:  # annotated_types' Gt / Ge, as pydantic's Field(gt=, ge=) leaves them
            if (bound := getattr(constraint, "gt", None)) is not None:
                kind += f" greater than {bound}"
            elif (bound := getattr(constraint, "ge", None)) is not None:
                kind += f" of {bound} or more"
        return kind

    def problem(self, variable: str, raw: str) -> str:
        """One line naming the variable, what it expects and the way out; a secret's value is never shown."""
        shown = f"{variable} (value hidden)" if self.secret else f"{variable}={_clip(raw)!r}"
        default = self.default_text()
        unset = f"unset it for the default ({default})" if default != "—" else "unset it"
        return f"{shown} is not valid: expected {self.expects()}; fix it or {unset}"


def _table() -> tuple[Setting, ...]:
    return tuple(
        Setting(name, meta, info)
        for name, info in Settings.model_fields.items()
        for meta in info.metadata
        if isinstance(meta, Env)
    )


SETTINGS: tuple[Setting, ...] = _table()
VARIABLES: dict[str, Setting] = {name: s for s in SETTINGS for name in s.names}


def _problems(exc: ValidationError, supplied: dict[str, tuple[Setting, str, str]]) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "default_factory_not_called":
            continue  # a default computed from another field that is itself wrong: that one is reported
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in supplied:
            setting, variable, raw = supplied[field]
            problems.append(setting.problem(variable, raw))
        else:  # a command-line override: argparse has checked its shape, so this is rare
            problems.append(f"{field}: {error['msg']}")
    return problems


def _mentions(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(_mentions(arg, kind) for arg in get_args(annotation))


def _unwrap(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _literal(value: Any) -> str | None:
    if value is None or value == ():
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _plain(markdown: str) -> str:
    return markdown.replace("`", "")


def _clip(raw: str, limit: int = 60) -> str:
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


# --- renderings of the table ---------------------------------------------------------------------------------


def help_text() -> str:
    """The environment section of `gemini-mcp --help`."""
    width = max(len(name) for s in SETTINGS for name in s.names)
    lines = ["environment variables (credentials are read from the environment only):"]
    for setting in SETTINGS:
        names = ", ".join(setting.names)
        default = setting.default_text()
        text = _plain(setting.meaning) + (f" [default: {default}]" if default != "—" else "")
        if len(names) > width:
            lines.append(f"  {names}")
            lines.append(f"  {'':<{width}}  {text}")
        else:
            lines.append(f"  {names:<{width}}  {text}")
    return "\n".join(lines)


MARKDOWN_HEADER = "| variable | meaning | default |"


def markdown_table() -> str:
    """The README's configuration table (between its header and the next heading)."""
    rows = [MARKDOWN_HEADER, "|---|---|---|"]
    for setting in SETTINGS:
        names = ", ".join(f"`{name}`" for name in setting.names)
        rows.append(f"| {names} | {setting.meaning} | {setting.default_markdown()} |")
    return "\n".join(rows) + "\n"


def replace_markdown_table(document: str) -> str:
    """`document` (the README) with its configuration table replaced by the current one."""
    start = document.index(MARKDOWN_HEADER)
    end = start
    lines = document[start:].splitlines(keepends=True)
    for line in lines:
        if not line.startswith("|"):
            break
        end += len(line)
    return document[:start] + markdown_table() + document[end:]


def readme_table(document: str) -> str:
    """The configuration table as it stands in `document`."""
    start = document.index(MARKDOWN_HEADER)
    lines = []
    for line in document[start:].splitlines():
        if not line.startswith("|"):
            break
        lines.append(line)
    return "\n".join(lines) + "\n"


class VariableSet:
    """One of our variables as `doctor` reports it: where it came from and what it holds (masked if secret)."""

    __slots__ = ("setting", "shadowed_by", "shown", "variable")

    def __init__(self, variable: str, setting: Setting, shown: str, shadowed_by: str | None = None) -> None:
        self.variable = variable
        self.setting = setting
        self.shown = shown
        self.shadowed_by = shadowed_by  # a variable earlier in this setting's precedence, which wins


def variables_set(environ: Mapping[str, str] | None = None) -> list[VariableSet]:
    """Every variable of the table that is set in `environ` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    found = []
    for setting in SETTINGS:
        winner = setting.lookup(env)
        for name in setting.names:
            raw = (env.get(name) or "").strip()
            if not raw:
                continue
            shown = "(hidden)" if setting.secret else _clip(raw, 120)
            shadowed = winner[0] if winner is not None and winner[0] != name else None
            found.append(VariableSet(name, setting, shown, shadowed))
    return found


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """`GEMINI_MCP_*` variables that are set but are no setting of this server (typos), each with a close match."""
    import difflib  # doctor only: not worth loading on every start

    env = os.environ if environ is None else environ
    ours = [name for name in VARIABLES if name.startswith(PREFIX)]
    unknown = []
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in VARIABLES:
            close = difflib.get_close_matches(name, ours, n=1, cutoff=0.75)
            unknown.append((name, close[0] if close else None))
    return unknown
