"""A disk cache of the tools' JSON schemas, so start-up does not regenerate them every time.

Generating ~30 input and output schemas with pydantic is the largest part of building the server (about
60 ms): an MCP host pays it on every launch. The schemas depend only on the code, so they are cached in
the folder the settings name (`Settings.schema_cache_dir`: `$XDG_CACHE_HOME/gemini-mcp`, or none with
`GEMINI_MCP_SCHEMA_CACHE=false`) under a key made from the package version, the pydantic and mcp versions,
the schema generator's version (framework/schemas.py) and the size and modification time of every module of
this package; any change makes a new key. A cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from gemini_mcp.framework.schemas import GENERATOR_VERSION

logger = logging.getLogger("gemini_mcp.schema_cache")

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def cache_key() -> str:
    digest = hashlib.sha256()
    for name in ("pydantic", "mcp", "gemini-mcp-server"):
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?;".encode())
    # Sizes and times alone can miss a change (reproducible builds pin every mtime; an edit may keep the size):
    # the generator's version makes sure no schema outlives the generator that made it.
    digest.update(f"generator={GENERATOR_VERSION};".encode())
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(PACKAGE_ROOT)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:24]


class SchemaCache:
    """The schemas kept in `folder` (from `Settings.schema_cache_dir`); with no folder, in memory only."""

    def __init__(self, folder: Path | None = None, enabled: bool = True) -> None:
        self.enabled = enabled and folder is not None
        self.path = folder / f"schemas-{cache_key()}.json" if folder is not None and self.enabled else None
        self.entries: dict[str, Any] = {}
        self.dirty = False
        if self.path is not None:
            try:
                self.entries = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.entries = {}

    def get(self, key: str, make: Any) -> Any:
        if key not in self.entries:
            self.entries[key] = make()
            self.dirty = True
        return self.entries[key]

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as handle:
                json.dump(self.entries, handle)
            os.replace(handle.name, self.path)
            for old in self.path.parent.glob("schemas-*.json"):
                if old != self.path:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            logger.debug("schema cache not written: %s", exc)
        self.dirty = False
