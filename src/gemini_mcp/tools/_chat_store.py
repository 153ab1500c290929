"""Server-side chat sessions: the SDK chat objects of `gemini/chats.py`, keyed by an id, bounded in number and age.

A session lives in this process only, so chats need sticky routing across HTTP replicas and are refused
in stateless mode. When the store is full the least recently used session is closed to make room.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
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
