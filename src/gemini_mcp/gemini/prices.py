"""What Gemini calls cost: the price table (data, `prices.json`) and estimates made from it.

Prices are facts about Google's models, so they live beside the model catalog. Every figure carries the date
it was published or read and its source; a model with no known price has `usd: null` and an estimate for it
says "unknown" (with the reason) rather than guessing. `GEMINI_MCP_PRICES_FILE` names a local overlay of the
same shape whose models replace the shipped ones by id (a negotiated rate, a price published after release).

A tool's cost hook (framework/spend.py) builds an `Estimate` with `per_second`, `per_image` or `per_tokens`;
the framework budgets, confirms and records it. Nothing here calls the API.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gemini_mcp.errors import LocalEnvironmentError

PRICES_FILE = Path(__file__).with_name("prices.json")
PRICES_SETTING = "GEMINI_MCP_PRICES_FILE"
MICROS = 1_000_000  # the ledger counts micro-dollars: sums of many small prices stay exact


@dataclass(frozen=True)
class Price:
    """One model's figures: `per` is the unit (second, image, token, task)."""

    model: str
    per: str
    usd: float | None = None  # per unit (second, image, task)
    by_size: dict[str, float] | None = None
    by_resolution: dict[str, float] | None = None
    input_per_1m: float | None = None
    output_per_1m: float | None = None
    as_of: str | None = None
    source: str | None = None
    note: str | None = None

    def for_variant(self, variant: str | None) -> float | None:
        table = self.by_size or self.by_resolution
        if table:
            if variant is not None and variant in table:
                return table[variant]
            return table.get("1K") or table.get("720p") or min(table.values())
        return self.usd


@dataclass(frozen=True)
class Estimate:
    """What one planned call should cost: `usd` None when unknown (`unknown` says why)."""

    usd: float | None
    basis: str
    model: str | None = None
    as_of: str | None = None
    source: str | None = None
    unknown: str | None = None
    # USD per input and per output token, to work out the actual cost from the usage the API reports.
    token_rates: tuple[float, float] | None = None
    units: int = 1  # answers the usage is multiplied by (n images drawn by n calls)

    @property
    def micros(self) -> int | None:
        return None if self.usd is None else math.ceil(self.usd * MICROS - 1e-6)

    def plus(self, other: Estimate) -> Estimate:
        """Both costs together (a call that pays for two things)."""
        usd = None if self.usd is None or other.usd is None else self.usd + other.usd
        return replace(
            self,
            usd=usd,
            basis=f"{self.basis} + {other.basis}",
            unknown=self.unknown or other.unknown,
            token_rates=None,
        )

    def actual(self, usage: dict[str, Any] | None) -> float | None:
        """The cost of the tokens `usage` reports (a tool result's `usage`), when this estimate knows the rates."""
        if self.token_rates is None or not isinstance(usage, dict):
            return None
        prompt = usage.get("prompt_tokens")
        output = usage.get("output_tokens")
        if not isinstance(prompt, int) and not isinstance(output, int):
            return None
        thinking = usage.get("thinking_tokens") or 0
        rate_in, rate_out = self.token_rates
        one = (prompt or 0) * rate_in + ((output or 0) + thinking) * rate_out
        return round(one * self.units, 6)


class PriceTable:
    """The shipped figures with an overlay's on top, by model id."""

    def __init__(self, data: dict[str, Any], overlay: dict[str, Any] | None = None) -> None:
        self.as_of = str(data.get("as_of", ""))
        self.sources: dict[str, str] = dict(data.get("sources") or {})
        models: dict[str, Any] = dict(data.get("models") or {})
        self.batch_fraction = float((data.get("batch") or {}).get("fraction", 1.0))
        self.batch_as_of = str((data.get("batch") or {}).get("as_of", ""))
        if overlay:
            self.sources.update(overlay.get("sources") or {})
            models.update(overlay.get("models") or {})
            if "batch" in overlay:
                self.batch_fraction = float(overlay["batch"].get("fraction", self.batch_fraction))
                self.batch_as_of = str(overlay["batch"].get("as_of", self.batch_as_of))
        self.models = models

    def price(self, model: str) -> Price | None:
        entry = self.models.get(model)
        seen = {model}
        while isinstance(entry, dict) and "same_as" in entry and entry["same_as"] not in seen:
            seen.add(entry["same_as"])
            entry = self.models.get(entry["same_as"])
        if not isinstance(entry, dict):
            return None
        fields = {name: entry.get(name) for name in Price.__dataclass_fields__ if name not in ("model", "per")}
        source = fields.get("source")
        fields["source"] = self.sources.get(str(source), source) if source is not None else None
        fields["as_of"] = str(entry["as_of"]) if entry.get("as_of") is not None else None
        return Price(model=model, per=str(entry.get("per", "unit")), **fields)


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise ValueError("expected an object with a 'models' object")
    return data


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    return _read(PRICES_FILE)


@lru_cache(maxsize=8)
def _table(overlay: str | None, mtime_ns: int) -> PriceTable:
    extra = None
    if overlay is not None:
        try:
            extra = _read(Path(overlay))
        except (OSError, ValueError) as exc:
            raise LocalEnvironmentError(
                f"{PRICES_SETTING}={overlay}: cannot read the price overlay ({exc}); fix the file (same shape as "
                "the shipped prices.json: {'models': {'<model id>': {'per': 'image', 'usd': 0.04, 'as_of': "
                "'2026-12-01', 'source': '…'}}}) or unset the variable"
            ) from None
    return PriceTable(_shipped(), extra)


def prices(overlay: Path | None = None) -> PriceTable:
    """The table in force: shipped figures, with `overlay`'s on top (re-read when the file changes)."""
    if overlay is None:
        return _table(None, 0)
    try:
        mtime = overlay.stat().st_mtime_ns
    except OSError:
        mtime = -1
    return _table(str(overlay), mtime)


def _money(usd: float) -> str:
    return f"${usd:.4f}".rstrip("0").rstrip(".") if usd < 0.01 else f"${usd:,.2f}" if usd >= 1 else f"${usd:.3f}"


def money(usd: float | None) -> str:
    """A price as people write it ($0.039, $3.20); 'unknown' for None."""
    return "unknown" if usd is None else _money(usd)


def _unknown(model: str, price: Price | None, what: str) -> Estimate:
    why = (price.note if price is not None and price.note else None) or "no price in the table"
    return Estimate(
        usd=None,
        basis=f"{what} ({model}): price unknown, {why}; set one in {PRICES_SETTING}",
        model=model,
        as_of=price.as_of if price else None,
        source=price.source if price else None,
        unknown=why,
    )


def per_second(table: PriceTable, model: str, seconds: float, variant: str | None = None) -> Estimate:
    """Video or audio billed by the second of output (`variant`: the resolution)."""
    price = table.price(model)
    rate = price.for_variant(variant) if price is not None else None
    shape = f", {variant}" if variant else ""
    if price is None or rate is None:
        return _unknown(model, price, f"{seconds:g} s{shape}")
    return Estimate(
        usd=round(seconds * rate, 6),
        basis=f"{seconds:g} s × {money(rate)}/s ({model}{shape})",
        model=model,
        as_of=price.as_of,
        source=price.source,
    )


def per_image(table: PriceTable, model: str, count: int, size: str | None = None) -> Estimate:
    """Images billed per image (`size`: 1K, 2K, 4K where the price depends on it)."""
    price = table.price(model)
    rate = price.for_variant(size) if price is not None else None
    shape = f", {size}" if size and price is not None and price.by_size else ""
    if price is None or rate is None:
        return _unknown(model, price, f"{count} image(s){shape}")
    rates = None
    if price.input_per_1m is not None and price.output_per_1m is not None:
        rates = (price.input_per_1m / MICROS, price.output_per_1m / MICROS)
    return Estimate(
        usd=round(count * rate, 6),
        basis=f"{count} image(s) × {money(rate)} ({model}{shape})",
        model=model,
        as_of=price.as_of,
        source=price.source,
        token_rates=rates,
        units=count,
    )


def per_tokens(
    table: PriceTable, model: str, input_tokens: int, output_tokens: int, *, batch: bool = False
) -> Estimate:
    """Text billed by the token (`batch`: the Batch API's discount applies)."""
    price = table.price(model)
    if price is None or price.input_per_1m is None or price.output_per_1m is None:
        return _unknown(model, price, f"{input_tokens} input + {output_tokens} output tokens")
    fraction = table.batch_fraction if batch else 1.0
    usd = (input_tokens * price.input_per_1m + output_tokens * price.output_per_1m) / MICROS * fraction
    discount = f" × {fraction:g} batch price (since {table.batch_as_of})" if batch else ""
    return Estimate(
        usd=round(usd, 6),
        basis=(
            f"~{input_tokens} input tokens × {money(price.input_per_1m)}/1M + up to {output_tokens} output tokens × "
            f"{money(price.output_per_1m)}/1M{discount} ({model})"
        ),
        model=model,
        as_of=price.as_of,
        source=price.source,
        token_rates=(price.input_per_1m / MICROS * fraction, price.output_per_1m / MICROS * fraction),
    )


def per_task(table: PriceTable, model: str, count: int = 1) -> Estimate:
    """Work billed per task (an agent run); unknown unless the table or the overlay names a price."""
    price = table.price(model)
    if price is None or price.usd is None:
        return _unknown(model, price, f"{count} task(s)")
    return Estimate(
        usd=round(count * price.usd, 6),
        basis=f"{count} task(s) × {money(price.usd)} ({model})",
        model=model,
        as_of=price.as_of,
        source=price.source,
    )


def tokens_in(text: str) -> int:
    """A rough count of the tokens of `text` (about 4 characters each), for an estimate made before any call."""
    return max(1, math.ceil(len(text) / 4))
