"""Where a chat is kept, and the ids that name it.

- `ChatStore`: sessions in this process (the SDK chat objects of `gemini/chats.py`), keyed by a `chat-<token>` id,
  bounded in number and age. They need sticky routing across HTTP replicas. When the store is full the least
  recently used session is closed to make room.
- `StoredChat`: a chat the Gemini API keeps (stored interactions), for stateless servers. Its id is
  `chat.<base64url JSON>` of everything needed to continue: the last interaction's id, the model, the generation
  config, the turn count and the system instruction (or, when that is long, a flag saying it is read back from
  the stored interaction). Nothing is kept here, so any replica continues any chat; the id changes with every
  message, and an older id continues the chat from that point (a branch).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import anyio

from gemini_mcp.errors import UserInputError

if TYPE_CHECKING:
    from gemini_mcp.config.settings import Settings


@dataclass
class ChatSession:
    id: str
    model: str
    chat: Any  # google.genai.chats.AsyncChat
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    turns: int = 0
    lock: anyio.Lock = field(default_factory=anyio.Lock)  # one message at a time keeps history ordered


class ChatStore:
    def __init__(self, settings: Settings) -> None:
        self.max_sessions = settings.chat_max_sessions
        self.idle_s = settings.chat_idle_minutes * 60
        self._sessions: OrderedDict[str, ChatSession] = OrderedDict()

    def _expire(self) -> None:
        now = time.monotonic()
        for chat_id in [cid for cid, s in self._sessions.items() if now - s.last_used > self.idle_s]:
            del self._sessions[chat_id]

    def add(self, model: str, chat: Any) -> tuple[ChatSession, str | None]:
        """Store a new session; returns it and a note when an old session had to be closed."""
        self._expire()
        note = None
        if len(self._sessions) >= self.max_sessions:
            evicted, _ = self._sessions.popitem(last=False)
            note = f"the least recently used chat ({evicted}) was closed: at most {self.max_sessions} are kept"
        session = ChatSession(id=f"chat-{secrets.token_urlsafe(9)}", model=model, chat=chat)
        self._sessions[session.id] = session
        return session, note

    def get(self, chat_id: str) -> ChatSession:
        self._expire()
        session = self._sessions.get(chat_id)
        if session is None:
            raise UserInputError(
                f"chat_id: no chat '{chat_id}' (it ended, expired after {self.idle_s / 60:g} idle minutes, or was "
                "started on another server process); start a new one with chat_start"
            )
        session.last_used = time.monotonic()
        self._sessions.move_to_end(chat_id)
        return session

    def end(self, chat_id: str) -> ChatSession:
        session = self.get(chat_id)
        del self._sessions[chat_id]
        return session

    def __len__(self) -> int:
        return len(self._sessions)


STORED_PREFIX = "chat."
# A system instruction up to this long rides in the id; a longer one is read back from the last interaction
# (one more request per message) rather than repeated by the agent on every turn.
SYSTEM_IN_ID_CHARS = 240


def is_stored(chat_id: str) -> bool:
    return chat_id.strip().startswith(STORED_PREFIX)


@dataclass(frozen=True)
class StoredChat:
    model: str
    last: str | None = None  # the latest interaction; None until the first message
    turns: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)
    system: str | None = None
    system_stored: bool = False  # the system instruction is in the stored interactions, not in the id

    @property
    def id(self) -> str:
        data: dict[str, Any] = {"m": self.model, "t": self.turns}
        if self.last:
            data["i"] = self.last
        if self.config:
            data["g"] = dict(self.config)
        if self.system_stored:
            data["s"] = 1
        elif self.system:
            data["s"] = self.system
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return STORED_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")

    @classmethod
    def parse(cls, chat_id: str) -> StoredChat:
        raw = chat_id.strip().removeprefix(STORED_PREFIX)
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            model, turns, last = data["m"], data["t"], data.get("i")
            config, system = data.get("g") or {}, data.get("s")
            if not (
                isinstance(model, str)
                and model
                and isinstance(turns, int)
                and turns >= 0
                and (last is None or (isinstance(last, str) and last))
                and isinstance(config, dict)
                and (system is None or system == 1 or isinstance(system, str))
            ):
                raise ValueError(chat_id)
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
            raise UserInputError(
                "chat_id: not a chat id this server hands out; pass the chat_id of the latest chat_start or "
                "chat_send result exactly as returned"
            ) from None
        stored = system == 1
        return cls(model, last, turns, config, None if stored else system, stored)

    def after(self, interaction_id: str) -> StoredChat:
        """The chat once `interaction_id` answered the next message."""
        long = self.system is not None and len(self.system) > SYSTEM_IN_ID_CHARS
        return replace(
            self,
            last=interaction_id,
            turns=self.turns + 1,
            system=None if long else self.system,
            system_stored=self.system_stored or long,
        )
