"""The spend ledger: one row per paid call, and the budgets' atomic reservations.

Two stores with one behaviour:

- `SqliteLedger` (the default): a file under the server's data folder. A reservation runs in one
  `BEGIN IMMEDIATE` transaction, which SQLite serialises across threads and processes, so budgets hold for
  every server on the machine that shares the file.
- `RedisLedger` (`GEMINI_MCP_LEDGER_URL=redis://…`): the same rows and budgets for several replicas. A
  reservation is one Lua script (Redis runs each script alone), so concurrent calls on any replica never
  reserve past a budget between them.

Amounts are integer micro-dollars. A row's charge is its actual cost when known, else its estimate; a row
that failed before anything was paid charges nothing. An idempotency key maps to its row for 24 hours.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import anyio

KEY_TTL_S = 24 * 3600
MICROS_PER_USD = 1_000_000
Status = Literal["reserved", "started", "done", "failed"]
CHARGED: frozenset[str] = frozenset({"reserved", "started", "done"})  # "failed": released, nothing paid


def utc_day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


@dataclass
class Entry:
    """One paid call. `key_scope` is who used which idempotency key on which tool."""

    tool: str
    session: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    at: float = field(default_factory=time.time)
    model: str | None = None
    client: str | None = None
    estimate: int | None = None  # micro-USD; None: the price is unknown
    actual: int | None = None
    status: Status = "reserved"
    job_id: str | None = None
    key_scope: str | None = None
    fingerprint: str | None = None
    result: str | None = None  # the result as JSON, for a repeated idempotency key (calls without a job)
    basis: str | None = None

    @property
    def day(self) -> str:
        return utc_day(self.at)

    @property
    def charge(self) -> int:
        if self.status not in CHARGED:
            return 0
        return self.actual if self.actual is not None else self.estimate or 0

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Entry:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            if name not in known or raw in (None, ""):
                continue
            if name == "at":
                values[name] = float(raw)
            elif name in ("estimate", "actual"):
                values[name] = int(raw)
            else:
                values[name] = str(raw)
        return cls(**values)


@dataclass(frozen=True)
class Limits:
    """Budgets in micro-USD; None: no limit."""

    daily: int | None = None
    session: int | None = None
    client_daily: int | None = None


@dataclass(frozen=True)
class Reserved:
    entry: Entry


@dataclass(frozen=True)
class Existing:
    """The idempotency key was used within 24 h: its row."""

    entry: Entry


@dataclass(frozen=True)
class OverBudget:
    window: Literal["daily", "session", "client_daily"]
    limit: int
    used: int


Outcome = Reserved | Existing | OverBudget


@dataclass(frozen=True)
class Used:
    """What is charged so far in each budget's window, micro-USD."""

    daily: int
    session: int
    client_daily: int


class Ledger(Protocol):
    where: str

    async def reserve(self, entry: Entry, limits: Limits) -> Outcome: ...
    async def find_key(self, key_scope: str) -> Entry | None: ...
    async def update(self, entry_id: str, **changes: Any) -> None: ...
    async def used(self, session: str, client: str | None, at: float | None = None) -> Used: ...
    async def entries(self, since: float, until: float) -> list[Entry]: ...
    async def aclose(self) -> None: ...


def _over(entry: Entry, limits: Limits, used: Used) -> OverBudget | None:
    cost = entry.estimate or 0
    checks: Sequence[tuple[Literal["daily", "session", "client_daily"], int | None, int]] = (
        ("daily", limits.daily, used.daily),
        ("session", limits.session, used.session),
        ("client_daily", limits.client_daily if entry.client is not None else None, used.client_daily),
    )
    for window, limit, spent in checks:
        if limit is not None and spent + cost > limit:
            return OverBudget(window, limit, spent)
    return None


# --- SQLite --------------------------------------------------------------------------------------------------
_COLUMNS = [f.name for f in fields(Entry)]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id TEXT PRIMARY KEY, at REAL NOT NULL, day TEXT NOT NULL, tool TEXT NOT NULL, model TEXT,
    session TEXT NOT NULL, client TEXT, estimate INTEGER, actual INTEGER, status TEXT NOT NULL,
    job_id TEXT, key_scope TEXT, fingerprint TEXT, result TEXT, basis TEXT
);
CREATE INDEX IF NOT EXISTS spend_day ON spend(day);
CREATE INDEX IF NOT EXISTS spend_session ON spend(session);
CREATE INDEX IF NOT EXISTS spend_key ON spend(key_scope);
CREATE INDEX IF NOT EXISTS spend_at ON spend(at);
"""
_CHARGE = "COALESCE(SUM(CASE WHEN status != 'failed' THEN COALESCE(actual, estimate, 0) ELSE 0 END), 0)"


class SqliteLedger:
    """The ledger in one SQLite file; each operation opens its own connection in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._ready = True
        return db

    async def _run(self, work: Any, *args: Any) -> Any:
        def job() -> Any:
            db = self._connect()
            try:
                return work(db, *args)
            finally:
                db.close()

        return await anyio.to_thread.run_sync(job)

    @staticmethod
    def _find_key(db: sqlite3.Connection, key_scope: str, now: float) -> Entry | None:
        row = db.execute(
            "SELECT * FROM spend WHERE key_scope = ? AND at > ? AND status != 'failed' ORDER BY at DESC LIMIT 1",
            (key_scope, now - KEY_TTL_S),
        ).fetchone()
        return Entry.load(dict(row)) if row is not None else None

    @staticmethod
    def _used(db: sqlite3.Connection, session: str, client: str | None, at: float) -> Used:
        day = utc_day(at)
        daily = db.execute(f"SELECT {_CHARGE} FROM spend WHERE day = ?", (day,)).fetchone()[0]
        by_session = db.execute(f"SELECT {_CHARGE} FROM spend WHERE session = ?", (session,)).fetchone()[0]
        by_client = 0
        if client is not None:
            by_client = db.execute(
                f"SELECT {_CHARGE} FROM spend WHERE day = ? AND client = ?", (day, client)
            ).fetchone()[0]
        return Used(int(daily), int(by_session), int(by_client))

    def _reserve(self, db: sqlite3.Connection, entry: Entry, limits: Limits) -> Outcome:
        db.execute("BEGIN IMMEDIATE")
        try:
            if entry.key_scope is not None:
                found = self._find_key(db, entry.key_scope, entry.at)
                if found is not None:
                    db.execute("COMMIT")
                    return Existing(found)
            over = _over(entry, limits, self._used(db, entry.session, entry.client, entry.at))
            if over is not None:
                db.execute("COMMIT")
                return over
            values = {**entry.dump(), "day": entry.day}
            names = [*_COLUMNS, "day"]
            db.execute(
                f"INSERT INTO spend ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [values[name] for name in names],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return Reserved(entry)

    async def reserve(self, entry: Entry, limits: Limits) -> Outcome:
        outcome: Outcome = await self._run(self._reserve, entry, limits)
        return outcome

    async def find_key(self, key_scope: str) -> Entry | None:
        found: Entry | None = await self._run(self._find_key, key_scope, time.time())
        return found

    async def update(self, entry_id: str, **changes: Any) -> None:
        names = [name for name in changes if name in _COLUMNS and name != "id"]
        if not names:
            return

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                f"UPDATE spend SET {', '.join(f'{name} = ?' for name in names)} WHERE id = ?",
                [*(changes[name] for name in names), entry_id],
            )

        await self._run(work)

    async def used(self, session: str, client: str | None, at: float | None = None) -> Used:
        found: Used = await self._run(self._used, session, client, time.time() if at is None else at)
        return found

    async def entries(self, since: float, until: float) -> list[Entry]:
        def work(db: sqlite3.Connection) -> list[Entry]:
            rows = db.execute("SELECT * FROM spend WHERE at >= ? AND at < ? ORDER BY at", (since, until)).fetchall()
            return [Entry.load(dict(row)) for row in rows]

        found: list[Entry] = await self._run(work)
        return found

    async def aclose(self) -> None:
        return None


# --- Redis ---------------------------------------------------------------------------------------------------
# KEYS: 1 the key's index (or the entry's own key when there is no idempotency key), 2 daily counter,
# 3 session counter, 4 client counter, 5 the entry hash, 6 the time index.
# ARGV: 1 estimate, 2-4 limits (-1: none), 5 entry id, 6 time, 7 entry prefix, 8 has key (1/0), 9 key TTL,
# 10 counter TTL, 11.. the entry's fields as name, value pairs.
_RESERVE = """
if ARGV[8] == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing then
    local status = redis.call('HGET', ARGV[7] .. existing, 'status')
    if status and status ~= 'failed' then
      return {'existing', existing}
    end
  end
end
local cost = tonumber(ARGV[1])
local counters = {KEYS[2], KEYS[3], KEYS[4]}
local names = {'daily', 'session', 'client_daily'}
for i = 1, 3 do
  local limit = tonumber(ARGV[i + 1])
  if limit >= 0 then
    local used = tonumber(redis.call('GET', counters[i]) or '0')
    if used + cost > limit then
      return {'over', names[i], tostring(limit), tostring(used)}
    end
  end
end
for i = 1, 3 do
  redis.call('INCRBY', counters[i], cost)
  redis.call('EXPIRE', counters[i], tonumber(ARGV[10]))
end
local pairs = {}
for i = 11, #ARGV do pairs[#pairs + 1] = ARGV[i] end
redis.call('HSET', KEYS[5], unpack(pairs))
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[5])
if ARGV[8] == '1' then
  redis.call('SET', KEYS[1], ARGV[5], 'EX', tonumber(ARGV[9]))
end
return {'reserved', ARGV[5]}
"""

# KEYS: 1 the entry hash; ARGV: 1 counter prefix, 2 counter TTL, then the changed fields as name, value pairs.
# The charge moves from the old status/amounts to the new ones in the same step, on every budget's counter.
_UPDATE = """
local function charge(status, actual, estimate)
  if status == 'failed' then return 0 end
  if actual and actual ~= '' then return tonumber(actual) end
  if estimate and estimate ~= '' then return tonumber(estimate) end
  return 0
end
local old = redis.call('HMGET', KEYS[1], 'status', 'actual', 'estimate', 'day', 'session', 'client')
if not old[1] then return 0 end
local before = charge(old[1], old[2], old[3])
local pairs = {}
local new = {status = old[1], actual = old[2], estimate = old[3]}
for i = 3, #ARGV, 2 do
  pairs[#pairs + 1] = ARGV[i]
  pairs[#pairs + 1] = ARGV[i + 1]
  if ARGV[i] == 'status' or ARGV[i] == 'actual' or ARGV[i] == 'estimate' then new[ARGV[i]] = ARGV[i + 1] end
end
redis.call('HSET', KEYS[1], unpack(pairs))
local delta = charge(new.status, new.actual, new.estimate) - before
if delta ~= 0 then
  local ttl = tonumber(ARGV[2])
  local counters = {ARGV[1] .. 'd:' .. old[4], ARGV[1] .. 's:' .. old[5]}
  if old[6] and old[6] ~= '' then counters[3] = ARGV[1] .. 'c:' .. old[6] .. ':' .. old[4] end
  for _, key in ipairs(counters) do
    redis.call('INCRBY', key, delta)
    redis.call('EXPIRE', key, ttl)
  end
end
return 1
"""
COUNTER_TTL_S = 40 * 86400  # a session's counter outlives any session; a day's counter its day


class RedisLedger:
    """The ledger in Redis, shared by every replica that names the same URL."""

    def __init__(self, url: str, prefix: str = "gemini-mcp:spend") -> None:
        import redis.asyncio as aioredis  # only a server configured for Redis loads the client

        self.where = _without_password(url)
        self.prefix = prefix
        self.redis = aioredis.from_url(url, decode_responses=True)
        self._reserve = self.redis.register_script(_RESERVE)
        self._update = self.redis.register_script(_UPDATE)

    def _entry_key(self, entry_id: str) -> str:
        return f"{self.prefix}:e:{entry_id}"

    def _counters(self, session: str, client: str | None, day: str) -> list[str]:
        client_key = f"{self.prefix}:u:c:{client}:{day}" if client is not None else f"{self.prefix}:u:c:-:{day}"
        return [f"{self.prefix}:u:d:{day}", f"{self.prefix}:u:s:{session}", client_key]

    async def reserve(self, entry: Entry, limits: Limits) -> Outcome:
        has_key = entry.key_scope is not None
        key_index = f"{self.prefix}:k:{entry.key_scope}" if has_key else self._entry_key(entry.id)
        data = {**entry.dump(), "day": entry.day}
        pairs: list[str] = []
        for name, value in data.items():
            if value is not None:
                pairs += [name, str(value)]
        client_limit = limits.client_daily if entry.client is not None else None
        answer = await self._reserve(
            keys=[
                key_index,
                *self._counters(entry.session, entry.client, entry.day),
                self._entry_key(entry.id),
                f"{self.prefix}:t",
            ],
            args=[
                entry.estimate or 0,
                *(-1 if limit is None else limit for limit in (limits.daily, limits.session, client_limit)),
                entry.id,
                entry.at,
                f"{self.prefix}:e:",
                "1" if has_key else "0",
                KEY_TTL_S,
                COUNTER_TTL_S,
                *pairs,
            ],
        )
        kind = answer[0]
        if kind == "existing":
            found = await self._get(str(answer[1]))
            if found is not None:
                return Existing(found)
            return await self.reserve(entry, limits)  # its row expired meanwhile
        if kind == "over":
            return OverBudget(answer[1], int(answer[2]), int(answer[3]))
        return Reserved(entry)

    async def _get(self, entry_id: str) -> Entry | None:
        data = cast("dict[str, Any]", await self.redis.hgetall(self._entry_key(entry_id)))
        return Entry.load(data) if data else None

    async def find_key(self, key_scope: str) -> Entry | None:
        entry_id = await self.redis.get(f"{self.prefix}:k:{key_scope}")
        if entry_id is None:
            return None
        found = await self._get(str(entry_id))
        return found if found is not None and found.status != "failed" else None

    async def update(self, entry_id: str, **changes: Any) -> None:
        pairs: list[str] = []
        for name, value in changes.items():
            if name in _COLUMNS and name != "id":
                pairs += [name, "" if value is None else str(value)]
        if pairs:
            await self._update(keys=[self._entry_key(entry_id)], args=[f"{self.prefix}:u:", COUNTER_TTL_S, *pairs])

    async def used(self, session: str, client: str | None, at: float | None = None) -> Used:
        day = utc_day(time.time() if at is None else at)
        values = await self.redis.mget(self._counters(session, client, day))
        daily, by_session, by_client = (int(value or 0) for value in values)
        return Used(daily, by_session, by_client if client is not None else 0)

    async def entries(self, since: float, until: float) -> list[Entry]:
        ids = await self.redis.zrangebyscore(f"{self.prefix}:t", since, f"({until}")
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.hgetall(self._entry_key(str(entry_id)))
            rows = await pipe.execute()
        return [Entry.load(row) for row in rows if row]

    async def aclose(self) -> None:
        await self.redis.aclose()


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def open_ledger(url: str | None, default: Path) -> Ledger:
    """The ledger a setting names: `redis://…` / `rediss://…`, `sqlite:///path`, a path, or the default file."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLedger(url)
    if url and url.startswith("sqlite:///"):
        return SqliteLedger(Path(url.removeprefix("sqlite:///")).expanduser())
    if url:
        return SqliteLedger(Path(url).expanduser())
    return SqliteLedger(default)


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
