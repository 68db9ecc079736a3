"""Typed documents: manifests and bench results refuse unknown or mistyped fields by name, and
files of the previous schema (percentages) still load, migrated to fractions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemnist.bench.result import BenchResult, load_result, validate
from edgemnist.errors import ArtifactError
from edgemnist.manifest import (
    SCHEMA_VERSION,
    Manifest,
    build_manifest,
    load_manifest,
    read_manifest,
    write_manifest,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def artifact(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not really onnx")
    return path


def test_manifest_round_trip(artifact):
    written = build_manifest(artifact, "onnx", "fp32", test_accuracy=0.9912, opset=13)
    write_manifest(artifact, written)
    typed = load_manifest(artifact)
    assert isinstance(typed, Manifest) and typed.schema_version == SCHEMA_VERSION
    assert typed.test_accuracy == 0.9912 and typed.input.shape == ["N", 1, 28, 28]
    assert Manifest.from_dict(typed.to_dict()) == typed
    assert read_manifest(artifact) == typed.to_dict()
    assert "calibration" not in typed.to_dict()  # optional fields never set are left out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"tset_accuracy": 0.9}, "unknown field tset_accuracy"),
        ({"size_bytes": "12"}, "size_bytes must be an integer"),
        ({"input": {"name": "x", "shape": [1], "dtype": 3}}, "input.dtype must be a string"),
        ({"parity": {"images": 10, "passed": "yes", "max_drop": 0.001}}, "parity.passed"),
        ({"schema_version": SCHEMA_VERSION + 1}, "newer than this edgemnist"),
    ],
)
def test_manifest_refuses_bad_fields_by_name(artifact, change, message):
    data = build_manifest(artifact, "onnx", "fp32")
    data.update(change)
    artifact.with_name("model.onnx.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=message):
        read_manifest(artifact)
    with pytest.raises(ArtifactError, match=message):
        write_manifest(artifact, data)


def test_unknown_keyword_is_refused_when_building(artifact):
    with pytest.raises(ArtifactError, match="unknown field acuracy"):
        build_manifest(artifact, "onnx", "fp32", acuracy=0.9)


def test_schema_1_manifest_is_migrated_to_fractions(artifact):
    v1 = build_manifest(artifact, "onnx-qdq", "int8")
    v1.update(
        schema_version=1,
        test_accuracy=99.12,
        reference_accuracy=99.2,
        parity={"images": 10000, "passed": True, "threshold": 0.1, "agreement": 99.9,
                "accuracy_drop": 0.08, "flips": 10, "reference": "model.onnx"},
    )  # fmt: skip
    artifact.with_name("model.onnx.json").write_text(json.dumps(v1))
    m = load_manifest(artifact)
    assert m is not None and m.schema_version == SCHEMA_VERSION
    assert m.test_accuracy == pytest.approx(0.9912) and m.reference_accuracy == pytest.approx(0.992)
    assert m.parity is not None
    assert m.parity.max_drop == pytest.approx(0.001) and m.parity.agreement == pytest.approx(0.999)
    assert m.parity.accuracy_drop == pytest.approx(0.0008)


def test_committed_bench_results_load_schema_1_migrated():
    paths = sorted((REPO / "benchmarks" / "results").glob("*/*.json"))
    bench = [p for p in paths if json.loads(p.read_text()).get("kind") == "edgemnist-bench"]
    old = [p for p in bench if json.loads(p.read_text())["schema_version"] == 1]
    assert old, "no committed schema-1 bench results found"
    for path in bench:  # every committed result is valid, whatever its schema
        assert validate(json.loads(path.read_text())) == [], path
    for path in old:
        raw = json.loads(path.read_text())
        result = load_result(path)
        assert isinstance(result, BenchResult) and result.schema_version == 2
        drops = {r["id"]: r.get("accuracy_drop_points") for r in raw["rows"]}
        for row in result.rows:
            if drops.get(row.id) is not None:
                assert row.accuracy_drop == pytest.approx(drops[row.id] / 100.0)
        assert result.recommendation["max_drop"] == pytest.approx(0.001)
        # and the migrated document is valid as the current schema
        assert validate(result.to_dict()) == []
