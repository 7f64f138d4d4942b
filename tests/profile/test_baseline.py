"""Baseline profiles survive a YAML round trip and bad files name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlmon_elk.contract import Check, Kind, Role
from mlmon_elk.errors import BaselineError
from mlmon_elk.profile.baseline import (
    Baseline,
    Calibration,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    TextProfile,
    dump_baseline,
    load_baseline,
)


def _baseline() -> Baseline:
    return Baseline(
        model="credit-risk",
        version="1.2.0",
        rows=1000,
        created="2026-11-22T10:00:00Z",
        source="train.csv",
        window_sizes=(500, 5000),
        features=(
            FeatureProfile(
                name="age",
                role=Role.INPUT,
                kind=Kind.NUM,
                presence=1.0,
                null_rate=0.02,
                numeric=NumericProfile(
                    edges=(25.0, 40.0), shares=(0.3, 0.4, 0.3), min=18, max=90, mean=41, std=12
                ),
                calibration={
                    Check.NUMERIC_DRIFT: Calibration(
                        "psi", upper=((500, 0.04), (5000, 0.01)), tail=1e-3
                    )
                },
            ),
            FeatureProfile(
                name="marital_status",
                role=Role.INPUT,
                kind=Kind.CAT,
                presence=0.99,
                null_rate=0.0,
                categorical=CategoricalProfile(
                    top=(("married", 0.5), ("single", 0.4)),
                    other_share=0.1,
                    vocabulary=frozenset({"married", "single", "divorced"}),
                    vocabulary_size=3,
                    expected_unseen_rate=0.001,
                ),
            ),
            FeatureProfile(
                name="note",
                role=Role.INPUT,
                kind=Kind.TEXT,
                presence=0.5,
                null_rate=0.1,
                text=TextProfile(
                    vocabulary=frozenset({"late", "payment"}),
                    vocabulary_size=2,
                    expected_oov_rate=0.03,
                    tokens_per_row=4.5,
                ),
            ),
            FeatureProfile(
                name="score",
                role=Role.OUTPUT,
                kind=Kind.NUM,
                presence=1.0,
                null_rate=0.0,
                numeric=NumericProfile(
                    edges=(0.5,), shares=(0.7, 0.3), min=0, max=1, mean=0.3, std=0.2
                ),
            ),
        ),
    )


def test_round_trip_through_yaml_is_lossless(tmp_path: Path) -> None:
    """What is dumped is loaded back equal, field for field."""
    path = tmp_path / "b.yaml"
    dump_baseline(_baseline(), path)
    assert load_baseline(path) == _baseline()


def test_yaml_is_human_readable_and_sorted(tmp_path: Path) -> None:
    """Vocabularies are sorted lists and top categories a readable mapping."""
    path = tmp_path / "b.yaml"
    dump_baseline(_baseline(), path)
    data = yaml.safe_load(path.read_text())
    cat = data["features"][1]["cat"]
    assert cat["vocabulary"] == ["divorced", "married", "single"]
    assert cat["top"] == {"married": 0.5, "single": 0.4}


def test_lookup_by_role_and_name() -> None:
    """Inputs and outputs are looked up separately."""
    b = _baseline()
    assert b.feature(Role.OUTPUT, "score") is b.outputs[0]
    assert b.feature(Role.INPUT, "score") is None
    assert [f.name for f in b.inputs] == ["age", "marital_status", "note"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("model"), r"\.model: missing"),
        (lambda d: d["features"][0].update(kind="vector"), r"features\[0\]\.kind: expected one of"),
        (lambda d: d["features"][0]["num"].update(edges=[3, 1]), "strictly increasing"),
        (
            lambda d: d["features"][1]["cat"].update(other_share="x"),
            r"features\[1\]\.cat\.other_share",
        ),
        (lambda d: d.update(tokenizer_version=99), "rebuild the baseline"),
        (lambda d: d.update(mlmon_baseline=7), "format 7 is not supported"),
    ],
)
def test_bad_files_name_the_bad_key(tmp_path: Path, edit, message: str) -> None:
    """Errors say which key is wrong and what was expected."""
    path = tmp_path / "b.yaml"
    dump_baseline(_baseline(), path)
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BaselineError, match=message):
        load_baseline(path)


def test_missing_file_is_a_baseline_error(tmp_path: Path) -> None:
    """A missing file is reported as such, not as a traceback."""
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(tmp_path / "nope.yaml")
