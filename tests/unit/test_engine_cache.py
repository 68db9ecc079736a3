"""Engine cache key, reuse/rebuild decisions with reasons, atomic engine writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemnist.atomic import write_bytes
from edgemnist.engine.build import input_shapes
from edgemnist.engine.cache import cache_key, decide, differences, key_digest
from edgemnist.manifest import build_manifest, write_manifest

SHAPES = input_shapes(64)


def _key(**over):
    base = dict(
        onnx_sha256="a" * 64, tensorrt="8.2.1", gpu="NVIDIA Tegra X1", compute_capability="5.3",
        precision="fp16", shapes=SHAPES, workspace_mib=256,
    )  # fmt: skip
    base.update(over)
    return cache_key(**base)


def _engine(tmp_path: Path, key) -> Path:
    engine = write_bytes(tmp_path / "model.engine", b"plan-bytes")
    write_manifest(engine, build_manifest(engine, "tensorrt", "fp16", cache_key=key))
    return engine


def test_same_key_reuses(tmp_path):
    engine = _engine(tmp_path, _key())
    d = decide(engine, _key())
    assert d.reuse and "reusing" in d.summary


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"tensorrt": "10.3.0"}, "TensorRT version changed: 8.2.1 -> 10.3.0"),
        ({"gpu": "Orin", "compute_capability": "8.7"}, "GPU changed: NVIDIA Tegra X1 -> Orin"),
        ({"precision": "fp32"}, "precision changed: fp16 -> fp32"),
        ({"workspace_mib": 1024}, "workspace changed: 256 -> 1024"),
        ({"shapes": input_shapes(8)}, "input shapes changed"),
        ({"onnx_sha256": "b" * 64}, "the ONNX changed: aaaaaaaaaaaa -> bbbbbbbbbbbb"),
    ],
)
def test_each_key_field_triggers_a_rebuild_with_reason(tmp_path, change, reason):
    engine = _engine(tmp_path, _key())
    d = decide(engine, _key(**change))
    assert not d.reuse and any(r.startswith(reason) for r in d.reasons)


def test_missing_corrupt_or_forced(tmp_path):
    assert decide(tmp_path / "model.engine", _key()).reasons == [
        "no engine yet (or it is empty/corrupt)"
    ]
    engine = _engine(tmp_path, _key())
    engine.write_bytes(b"tampered")
    assert "sha256" in decide(engine, _key()).reasons[0]
    engine = _engine(tmp_path, _key())
    assert decide(engine, _key(), force=True).reasons == ["--force-rebuild given"]
    (tmp_path / "model.engine.json").unlink()
    assert "no manifest" in decide(engine, _key()).reasons[0]


def test_digest_is_stable_and_sensitive():
    assert key_digest(_key()) == key_digest(_key())
    assert key_digest(_key()) != key_digest(_key(precision="fp32"))
    assert differences(_key(), _key()) == []


def test_never_a_zero_byte_engine(tmp_path):
    with pytest.raises(OSError, match="empty"):
        write_bytes(tmp_path / "model.engine", b"")
    assert not (tmp_path / "model.engine").exists()


def test_fallback_candidates():
    from edgemnist.engine.ort_fallback import candidate_configs

    both = ["XnnpackExecutionProvider", "CPUExecutionProvider", "AzureExecutionProvider"]
    assert candidate_configs(both, cpu_count=4) == [
        {"provider": "XnnpackExecutionProvider", "threads": 1},
        {"provider": "XnnpackExecutionProvider", "threads": 2},
        {"provider": "CPUExecutionProvider", "threads": 1},
        {"provider": "CPUExecutionProvider", "threads": 2},
    ]
    assert candidate_configs(["CPUExecutionProvider"], cpu_count=1) == [
        {"provider": "CPUExecutionProvider", "threads": 1}
    ]


def test_fallback_reuse_and_rebuild_reason(tmp_path):
    import json

    from tiny_onnx import write_tiny_onnx

    from edgemnist.engine.ort_fallback import build_fallback

    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    first = build_fallback(onnx, tmp_path, "no TensorRT (test)", "fp32", runs=20)
    assert not first.reused and first.artifact.name == "model.ort.onnx"
    assert len(first.manifest["measurements"]) >= 1
    assert build_fallback(onnx, tmp_path, "no TensorRT (test)", "fp32", runs=20).reused
    mpath = tmp_path / "model.ort.onnx.json"
    m = json.loads(mpath.read_text())
    m["cache_key"]["onnxruntime"] = "1.16.0"  # as if made by an older ONNX Runtime
    mpath.write_text(json.dumps(m))
    again = build_fallback(onnx, tmp_path, "no TensorRT (test)", "fp32", runs=20)
    assert not again.reused
    assert any(r.startswith("onnxruntime changed: 1.16.0 ->") for r in again.reasons)
