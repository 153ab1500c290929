"""The model catalog: what each Gemini model is, where it is served, at which stage, and which config it takes.

The facts are data, in `model_catalog.json` beside this module (with the date and the source of its facts);
`GEMINI_MCP_MODELS_FILE` names a local file in the same shape whose entries are laid over it, so a new
model, a new alias or a retirement can be added without a release. The overlay is read again whenever the
file changes (hot reload). `gemini/models.py` applies the rules; `markdown_table` renders the README's models
table (`python -m gemini_mcp.gemini.catalog --markdown`, or `--update README.md`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from gemini_mcp.config.settings import Backend
from gemini_mcp.errors import LocalEnvironmentError

Stage = Literal["preview", "ga", "deprecated", "retired"]
STAGES: tuple[Stage, ...] = ("preview", "ga", "deprecated", "retired")
BACKENDS: tuple[Backend, ...] = ("gemini", "vertex")
MODELS_FILE_VARIABLE = "GEMINI_MCP_MODELS_FILE"
TABLE_START = "<!-- models-table:start -->"
TABLE_END = "<!-- models-table:end -->"
BACKEND_NAMES: dict[Backend, str] = {"gemini": "the Gemini Developer API", "vertex": "Vertex AI"}
BACKEND_LABELS: dict[Backend, str] = {"gemini": "Developer API", "vertex": "Vertex AI"}

_ENTRY_KEYS = {
    "id",
    "name",
    "family",
    "tasks",
    "api",
    "serves",
    "match",
    "seed",
    "points_to",
    "successor",
    "elsewhere",
    "input",
    "output",
    "thinking",
    "image",
    "voices",
    "limits",
    "source",
}
_SERVED_KEYS = {"stage", "retires", "retired", "successor"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CatalogError(LocalEnvironmentError):
    """The overlay file (GEMINI_MCP_MODELS_FILE) cannot be used; the message names the entry and the fix."""


@dataclass(frozen=True)
class Served:
    """How one backend serves a model."""

    stage: Stage
    retires: str | None = None  # a deprecated model's announced retirement date
    retired: str | None = None  # when a retired model stopped being served
    successor: str | None = None  # what this backend serves instead (wins over the model's own)


@dataclass(frozen=True)
class Thinking:
    """`thinking_budget` bounds (the 2.5 series) or the `thinking_level`s a model takes (Gemini 3+)."""

    minimum: int = 0  # smallest budget when thinking is on
    maximum: int = 0
    can_disable: bool = False  # whether a budget of 0 (no thinking) is accepted
    levels: tuple[str, ...] = ()  # types.ThinkingLevel names, lowest first; empty: a budget model

    @property
    def by_level(self) -> bool:
        return bool(self.levels)


@dataclass(frozen=True)
class ImageSupport:
    """Whether a Gemini image model takes `image_config`, and what it accepts there."""

    config: bool
    aspect_ratios: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One model of the catalog."""

    id: str
    name: str
    family: str
    tasks: tuple[str, ...]
    api: str
    serves: dict[Backend, Served]
    source: str
    match: Literal["exact", "prefix"] = "exact"  # prefix: every id that starts with `id` (a retired family)
    seed: bool = False  # named by the seed's guidance: agents write it as an alias, so it is substituted
    points_to: str | None = None  # a `-latest` pointer: the model behind it today
    successor: str | None = None
    elsewhere: dict[Backend, str] = field(default_factory=dict)  # what to use on a backend that never served it
    input: tuple[str, ...] = ()
    output: tuple[str, ...] = ()
    thinking: Thinking | None = None
    image: ImageSupport | None = None
    voices: str | None = None
    input_limit: int | None = None
    output_limit: int | None = None

    def on(self, backend: Backend) -> Served | None:
        """How `backend` serves this model; None when it never did."""
        return self.serves.get(backend)

    def replacement(self, backend: Backend) -> str | None:
        """What to use instead on `backend`: the backend's own successor, the model's, or the model for a
        backend that never served this one."""
        served = self.on(backend)
        if served is None:
            return self.elsewhere.get(backend)
        return served.successor or self.successor

    def retired_on(self, backend: Backend) -> bool:
        served = self.on(backend)
        return served is not None and served.stage == "retired"

    @property
    def retired_everywhere(self) -> bool:
        return bool(self.serves) and all(s.stage == "retired" for s in self.serves.values())


@dataclass(frozen=True)
class Catalog:
    as_of: str
    source: str
    defaults: dict[str, str]
    aliases: dict[str, str]  # keys normalised (`normalise`)
    models: dict[str, Entry]  # by lower-case id
    overlay: Path | None = None

    def get(self, model: str) -> Entry | None:
        """The entry for a model id (any case, `models/` prefixes allowed); a retired family by prefix."""
        name = strip_prefix(model).lower()
        found = self.models.get(name)
        if found is not None:
            return found
        families = [e for e in self.models.values() if e.match == "prefix" and name.startswith(e.id.lower())]
        return max(families, key=lambda e: len(e.id)) if families else None

    def entries(self) -> list[Entry]:
        return list(self.models.values())


def normalise(name: str) -> str:
    """An alias key: lower case, runs of space, `-` and `_` folded to one space."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def strip_prefix(name: str) -> str:
    name = name.strip()
    for prefix in ("models/", "publishers/google/models/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


# --- loading ------------------------------------------------------------------------------------------
def _fail(where: str, problem: str) -> CatalogError:
    return CatalogError(
        f"{LocalEnvironmentError.LEAD}: the model catalog {where} {problem}. Fix the file named by "
        f"{MODELS_FILE_VARIABLE} (same shape as gemini/model_catalog.json), or unset it, then call again"
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "must be a list of strings")
    return tuple(value)


def _date(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        raise _fail(where, f"must be a date YYYY-MM-DD, not {value!r}")
    return value


def _served(raw: Any, where: str) -> Served:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object with a `stage`")
    unknown = set(raw) - _SERVED_KEYS
    if unknown:
        raise _fail(where, f"has unknown keys {sorted(unknown)} (known: {sorted(_SERVED_KEYS)})")
    stage = raw.get("stage")
    if stage not in STAGES:
        raise _fail(f"{where}.stage", f"must be one of {', '.join(STAGES)}, not {stage!r}")
    successor = raw.get("successor")
    if successor is not None and not isinstance(successor, str):
        raise _fail(f"{where}.successor", "must be a model id")
    return Served(
        stage, _date(raw.get("retires"), f"{where}.retires"), _date(raw.get("retired"), f"{where}.retired"), successor
    )


def _thinking(raw: Any, where: str) -> Thinking | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1 or not ({"budget", "levels"} & set(raw)):
        raise _fail(where, 'must be {"budget": {"min", "max", "off"}} or {"levels": [...]} or null')
    if "levels" in raw:
        levels = _strings(raw["levels"], f"{where}.levels")
        allowed = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")
        if not levels or any(level not in allowed for level in levels):
            raise _fail(f"{where}.levels", f"must list levels among {', '.join(allowed)}")
        return Thinking(levels=tuple(sorted(levels, key=allowed.index)))
    budget = raw["budget"]
    if not isinstance(budget, dict) or not all(isinstance(budget.get(k), int) for k in ("min", "max")):
        raise _fail(f"{where}.budget", "must be {min: int, max: int, off: bool}")
    return Thinking(minimum=budget["min"], maximum=budget["max"], can_disable=bool(budget.get("off")))


def _image(raw: Any, where: str) -> ImageSupport | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("config"), bool):
        raise _fail(where, 'must be {"config": bool, "aspect_ratios": [...], "sizes": [...]}')
    return ImageSupport(
        raw["config"],
        _strings(raw.get("aspect_ratios"), f"{where}.aspect_ratios"),
        _strings(raw.get("sizes"), f"{where}.sizes"),
    )


def _entry(raw: dict[str, Any], where: str) -> Entry:
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise _fail(where, f"has unknown keys {sorted(unknown)} (known: {sorted(_ENTRY_KEYS)})")
    model_id = raw.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise _fail(where, "needs an `id` (the model id)")
    serves = raw.get("serves")
    if not isinstance(serves, dict) or not serves or set(serves) - set(BACKENDS):
        raise _fail(f"{where}.serves", 'must map "gemini" and/or "vertex" to {"stage": ...}')
    elsewhere = raw.get("elsewhere") or {}
    if not isinstance(elsewhere, dict) or set(elsewhere) - set(BACKENDS):
        raise _fail(f"{where}.elsewhere", 'must map "gemini" or "vertex" to a model id')
    limits = raw.get("limits") or {}
    match: Literal["exact", "prefix"] = "prefix" if raw.get("match") == "prefix" else "exact"
    if raw.get("match") not in (None, "exact", "prefix"):
        raise _fail(f"{where}.match", "must be 'exact' or 'prefix'")
    return Entry(
        id=model_id.strip(),
        name=str(raw.get("name") or model_id),
        family=str(raw.get("family") or ""),
        tasks=_strings(raw.get("tasks"), f"{where}.tasks"),
        api=str(raw.get("api") or "generateContent"),
        serves={backend: _served(value, f"{where}.serves.{backend}") for backend, value in serves.items()},
        source=str(raw.get("source") or "local overlay"),
        match=match,
        seed=bool(raw.get("seed")),
        points_to=raw.get("points_to"),
        successor=raw.get("successor"),
        elsewhere=dict(elsewhere),
        input=_strings(raw.get("input"), f"{where}.input"),
        output=_strings(raw.get("output"), f"{where}.output"),
        thinking=_thinking(raw.get("thinking"), f"{where}.thinking"),
        image=_image(raw.get("image"), f"{where}.image"),
        voices=raw.get("voices"),
        input_limit=limits.get("input"),
        output_limit=limits.get("output"),
    )


def _parse(document: Any, base: dict[str, Any] | None, origin: str) -> dict[str, Any]:
    """`document` laid over `base` (raw dicts): models merge key by key on their id, aliases and defaults
    replace or add one by one."""
    if not isinstance(document, dict):
        raise _fail(origin, "must hold a JSON object")
    merged: dict[str, Any] = {
        "as_of": (base or {}).get("as_of"),
        "source": (base or {}).get("source"),
        "defaults": dict((base or {}).get("defaults") or {}),
        "aliases": dict((base or {}).get("aliases") or {}),
        "models": {m["id"].lower(): dict(m) for m in (base or {}).get("models", {}).values()} if base else {},
    }
    for key in ("defaults", "aliases"):
        value = document.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _fail(f"{origin}: `{key}`", "must map names to model ids")
        merged[key].update(value)
    models = document.get("models") or []
    if not isinstance(models, list):
        raise _fail(f"{origin}: `models`", "must be a list of model entries")
    for index, raw in enumerate(models):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise _fail(f"{origin}: models[{index}]", "must be an object with an `id`")
        key = raw["id"].strip().lower()
        merged["models"][key] = {**merged["models"].get(key, {}), **raw}
    if base is None:
        merged["as_of"], merged["source"] = document.get("as_of"), document.get("source")
    elif document.get("as_of"):
        merged["as_of"] = f"{merged['as_of']} (+ local overlay of {document['as_of']})"
    return merged


def _build(merged: dict[str, Any], overlay: Path | None, origin: str) -> Catalog:
    entries = {key: _entry(raw, f"{origin}: model '{raw.get('id')}'") for key, raw in merged["models"].items()}
    return Catalog(
        as_of=str(merged.get("as_of") or "unknown"),
        source=str(merged.get("source") or ""),
        defaults=dict(merged["defaults"]),
        aliases={normalise(alias): target for alias, target in merged["aliases"].items()},
        models=entries,
        overlay=overlay,
    )


_packaged: dict[str, Any] | None = None


def _packaged_raw() -> dict[str, Any]:
    global _packaged
    if _packaged is None:
        text = resources.files("gemini_mcp.gemini").joinpath("model_catalog.json").read_text(encoding="utf-8")
        _packaged = _parse(json.loads(text), None, "model_catalog.json")
    return _packaged


def load(overlay: Path | None = None) -> Catalog:
    """The packaged catalog, with the entries of `overlay` (a JSON file of the same shape) laid over it."""
    if overlay is None:
        return _build(_packaged_raw(), None, "model_catalog.json")
    return _load_text(overlay, _read(overlay))


def _read(overlay: Path) -> bytes:
    where = f"overlay {overlay} ({MODELS_FILE_VARIABLE})"
    try:
        return overlay.read_bytes()
    except FileNotFoundError:
        raise _fail(where, "does not exist") from None
    except OSError as exc:
        raise _fail(where, f"cannot be read ({exc.strerror or type(exc).__name__})") from None


def _load_text(overlay: Path, raw: bytes) -> Catalog:
    where = f"overlay {overlay} ({MODELS_FILE_VARIABLE})"
    try:
        document = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise _fail(where, f"is not valid JSON ({exc})") from None
    return _build(_parse(document, _packaged_raw(), where), overlay, where)


# The overlay in use: set from the settings (`models_file`) by every call that resolves a model and by the
# capabilities (`use_overlay`); none before. One process serves one configuration, so one slot is enough.
_overlay_slot: list[Path | None] = [None]
_cache: dict[tuple[Path | None, bytes], Catalog] = {}


def use_overlay(path: Path | None) -> None:
    _overlay_slot[0] = path


def current() -> Catalog:
    """The catalog in force: packaged data plus the overlay, built again whenever the overlay's content changes
    (the file is small: reading it on each use is cheaper than trusting its modification time)."""
    overlay = _overlay_slot[0]
    raw = _read(overlay) if overlay is not None else b""
    key = (overlay, raw)
    found = _cache.get(key)
    if found is None:
        found = _load_text(overlay, raw) if overlay is not None else load(None)
        _cache.clear()
        _cache[key] = found
    return found


# --- the README's models table ------------------------------------------------------------------------
def stage_text(served: Served | None, instead: str | None = None) -> str:
    if served is None:
        return f"— (→ `{instead}`)" if instead else "—"
    if served.stage == "retired":
        return f"retired {served.retired}" if served.retired else "retired"
    if served.stage == "deprecated":
        return f"deprecated, retires {served.retires}" if served.retires else "deprecated"
    return {"ga": "GA", "preview": "preview"}[served.stage]


def thinking_text(entry: Entry) -> str:
    thinking = entry.thinking
    if thinking is None:
        return "—"
    if thinking.by_level:
        return "level " + "/".join(level.lower() for level in thinking.levels)
    off = "0 (off), " if thinking.can_disable else ""
    return f"budget {off}{thinking.minimum}–{thinking.maximum}"


def markdown_table(catalog: Catalog | None = None) -> str:
    """The README's models table: every catalog model, its stage on each backend, successor, thinking, aliases."""
    catalog = catalog or load()
    aliases: dict[str, list[str]] = {}
    for alias, target in catalog.aliases.items():
        aliases.setdefault(target.lower(), []).append(alias)
    defaults: dict[str, list[str]] = {}
    for task, target in catalog.defaults.items():
        defaults.setdefault(target.lower(), []).append(task)
    lines = [
        f"Catalog as of {catalog.as_of} (`src/gemini_mcp/gemini/model_catalog.json`; each entry's `source` says "
        "where its facts come from, and which are assumed).",
        "",
        "| model | tasks | Developer API | Vertex AI | successor | thinking | aliases (default for) |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in catalog.entries():
        key = entry.id.lower()
        name = f"`{entry.id}`" + ("…" if entry.match == "prefix" else "")
        cells = [f"`{a}`" for a in sorted(aliases.get(key, []))]
        cells += [f"*{t}*" for t in defaults.get(key, [])]
        named = {b: s.successor or entry.successor for b, s in entry.serves.items() if s.successor or entry.successor}
        if len(set(named.values())) > 1:
            successor = ", ".join(f"`{model}` ({BACKEND_LABELS[b]})" for b, model in named.items())
        else:
            successor = next((f"`{model}`" for model in named.values()), "—")
        stages = [stage_text(entry.on(backend), entry.elsewhere.get(backend)) for backend in BACKENDS]
        row = [name, ", ".join(entry.tasks), *stages, successor, thinking_text(entry)]
        lines.append("| " + " | ".join([*row, ", ".join(cells) or "—"]) + " |")
    return "\n".join(lines) + "\n"


def replace_markdown_table(document: str, table: str | None = None) -> str:
    """`document` with the text between the models-table markers replaced by the generated table."""
    start, end = document.find(TABLE_START), document.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {TABLE_START} … {TABLE_END} section")
    body = table if table is not None else markdown_table()
    return document[: start + len(TABLE_START)] + "\n" + body + document[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gemini_mcp.gemini.catalog", description="Render the model catalog as the README's table."
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the models table (markdown)")
    group.add_argument("--update", type=Path, metavar="README", help="rewrite the table between the markers")
    args = parser.parse_args(argv)
    if args.update:
        args.update.write_text(replace_markdown_table(args.update.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
