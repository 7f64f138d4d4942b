"""Simulated loan applications and an example credit-risk model, for the demo.

The generator draws applications with realistic structure — correlated numbers,
skewed categories, missing incomes, short free-text descriptions with a long
tail of rare words — from a seeded ``numpy`` generator, so every demo run sees
the same data. :class:`Drift` switches on the production problems the analyzer
is meant to catch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MODEL = "credit-risk"
VERSION = "1.0.0"

MARITAL = ("married", "single", "divorced", "widowed")
MARITAL_SHARES = (0.52, 0.31, 0.12, 0.05)
PURPOSES = (
    "car",
    "home_improvement",
    "education",
    "business",
    "medical",
    "debt_consolidation",
    "travel",
)
PURPOSE_SHARES = (0.26, 0.2, 0.12, 0.1, 0.07, 0.2, 0.05)
# fmt: off
REGIONS = (
    "north", "south", "east", "west", "centre", "coast", "highlands",
    "lakes", "valley", "islands", "capital", "border",
)
EMPLOYMENT = ("employed", "self_employed", "contractor", "retired", "student", "unemployed")
EMPLOYMENT_SHARES = (0.62, 0.14, 0.1, 0.07, 0.04, 0.03)

# Words of the free-text description, most frequent first; the long tail gives
# the training vocabulary its natural rate of rare (held-out unseen) words.
_COMMON = (
    "loan", "for", "a", "new", "used", "car", "repair", "of", "the", "roof", "kitchen",
    "bathroom", "renovation", "tuition", "fees", "university", "course", "small", "shop",
    "equipment", "stock", "medical", "bills", "dental", "treatment", "surgery", "consolidate",
    "credit", "card", "debts", "pay", "off", "overdraft", "holiday", "trip", "family",
    "wedding", "moving", "costs", "solar", "panels", "insulation", "boiler", "replacement",
    "laptop", "for", "studies", "van", "for", "my", "business",
)
_RARE = tuple(
    f"{stem}{suffix}"
    for stem in ("garden", "fence", "piano", "bike", "boat", "camera", "sofa", "window",
                 "garage", "pool", "horse", "tractor", "studio", "caravan")
    for suffix in ("", "s", "work", "shed", "kit", "parts", "repairs", "upgrade")
)
# Words that never occur in training: the out-of-vocabulary drift.
NEW_WORDS = (
    "crypto", "bitcoin", "nft", "staking", "mining", "rig", "token", "presale", "airdrop",
    "defi", "memecoin", "leverage", "margin", "trading", "bot",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Drift:
    """Production problems to inject; all off by default."""

    employment_years_absent: float = 0.0
    """Share of requests whose ``employment_years`` key is missing (a client bug)."""
    extra_income_na: float = 0.0
    """Extra share of requests with a null ``income`` (an upstream outage)."""
    divorced_share: float | None = None
    """Share of ``marital_status == "divorced"`` (training: 12%)."""
    new_word_share: float = 0.0
    """Share of description words from a vocabulary never seen in training."""

    @property
    def active(self) -> bool:
        return self != Drift()


DEMO_DRIFT = Drift(
    employment_years_absent=0.35,
    extra_income_na=0.15,
    divorced_share=0.31,
    new_word_share=0.2,
)
"""The drift the demo switches on part-way."""


def applications(n: int, rng: np.random.Generator, drift: Drift = Drift()) -> list[dict[str, Any]]:
    """``n`` loan applications as the serving app receives them (model inputs)."""
    age = np.clip(rng.normal(41, 12, n), 18, 90).round()
    employment_years = np.clip((age - 18) * rng.beta(2, 3, n), 0, None).round(1)
    income = np.exp(rng.normal(10.6, 0.45, n) + 0.004 * (age - 41)).round(-2)
    loan_amount = (income * rng.uniform(0.05, 0.6, n)).round(-2)
    marital = _choice(rng, MARITAL, _marital_shares(drift.divorced_share), n)
    purpose = _choice(rng, PURPOSES, PURPOSE_SHARES, n)
    region = rng.choice(REGIONS, size=n, p=_zipf(len(REGIONS), 0.8))
    employment = _choice(rng, EMPLOYMENT, EMPLOYMENT_SHARES, n)
    income_null = rng.random(n) < 0.02 + drift.extra_income_na
    years_absent = rng.random(n) < drift.employment_years_absent
    rows = []
    for i in range(n):
        row: dict[str, Any] = {
            "age": float(age[i]),
            "income": None if income_null[i] else float(income[i]),
            "loan_amount": float(loan_amount[i]),
            "employment_years": float(employment_years[i]),
            "marital_status": str(marital[i]),
            "purpose": str(purpose[i]),
            "region": str(region[i]),
            "employment_type": str(employment[i]),
            "description": _description(rng, str(purpose[i]), drift.new_word_share),
        }
        if years_absent[i]:
            del row["employment_years"]
        rows.append(row)
    return rows


def training_frame(rows: int = 20_000, seed: int = 7) -> pd.DataFrame:
    """The bundled training set: applications with the model's outputs as columns."""
    records = applications(rows, np.random.default_rng(seed))
    frame: pd.DataFrame = pd.DataFrame([{**r, **predict(r)} for r in records])
    return frame


def predict(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The example model: a fixed logistic score of default risk and a decision."""
    income = inputs.get("income") or 30_000.0
    ratio = float(inputs.get("loan_amount", 0.0)) / max(float(income), 1.0)
    years = float(inputs.get("employment_years") or 0.0)
    z = (
        -2.2
        + 3.5 * ratio
        - 0.04 * years
        + 0.6 * (inputs.get("employment_type") == "unemployed")
        + 0.3 * (inputs.get("purpose") == "business")
        - 0.01 * (float(inputs.get("age", 40.0)) - 40)
    )
    score = 1.0 / (1.0 + math.exp(-z))
    return {"default_risk": round(score, 4), "decision": "reject" if score > 0.35 else "approve"}


def _description(rng: np.random.Generator, purpose: str, new_word_share: float) -> str:
    words = [purpose.replace("_", " ")]
    for _ in range(int(rng.integers(3, 9))):
        if rng.random() < new_word_share:
            words.append(str(rng.choice(NEW_WORDS)))
        elif rng.random() < 0.03:
            words.append(_pseudo_word(rng))
        elif rng.random() < 0.04:
            words.append(str(_RARE[int(rng.zipf(1.3)) % len(_RARE)]))
        else:
            words.append(_COMMON[min(int(rng.zipf(1.4)) - 1, len(_COMMON) - 1)])
    return " ".join(words).capitalize()


_SYLLABLES = ("ka", "lo", "mi", "ra", "te", "vo", "zu", "ne", "shi", "pa", "dor", "lin")


def _pseudo_word(rng: np.random.Generator) -> str:
    """A name-like word (a shop, a place, a brand): the open-vocabulary tail."""
    return "".join(str(rng.choice(_SYLLABLES)) for _ in range(int(rng.integers(2, 5))))


def _marital_shares(divorced: float | None) -> tuple[float, ...]:
    if divorced is None:
        return MARITAL_SHARES
    rest = 1.0 - MARITAL_SHARES[2]
    scale = (1.0 - divorced) / rest
    return tuple(
        divorced if m == "divorced" else s * scale
        for m, s in zip(MARITAL, MARITAL_SHARES, strict=True)
    )


def _choice(
    rng: np.random.Generator, values: tuple[str, ...], shares: tuple[float, ...], n: int
) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    chosen: np.ndarray = rng.choice(np.asarray(values), size=n, p=p / p.sum())
    return chosen


def _zipf(k: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1, dtype=float) ** s
    shares: np.ndarray = w / w.sum()
    return shares
