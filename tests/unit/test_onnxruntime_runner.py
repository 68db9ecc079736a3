"""OnnxRuntimeRunner on real ONNX files (built here with onnx.helper) and open_runner's choice."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgemnist.errors import ArtifactError, BackendUnavailable, ConfigError, InputError  # noqa: E402
from edgemnist.manifest import build_manifest, manifest_path, write_manifest  # noqa: E402
from edgemnist.runners.onnxruntime import (  # noqa: E402
    OnnxRuntimeRunner,
    resolve_providers,
)
from edgemnist.runners.open import open_runner, source_onnx  # noqa: E402

RNG = np.random.default_rng(1234)
WEIGHT = RNG.normal(0, 0.05, (784, 10)).astype(np.float32)
BIAS = np.arange(10, dtype=np.float32) / 10


def expected_logits(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], 784).astype(np.float64) @ WEIGHT + BIAS


def linear_model(path: Path, batch=None, input_shape=(1, 28, 28), fp16_input: bool = False) -> Path:
    """Flatten + Gemm with known weights: logits = x.reshape(N, 784) @ W + b (checkable)."""
    nodes = []
    src = "input"
    if fp16_input:
        nodes.append(helper.make_node("Cast", ["input"], ["input32"], to=TensorProto.FLOAT))
        src = "input32"
    nodes += [
        helper.make_node("Flatten", [src], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"]),
    ]
    in_type = TensorProto.FLOAT16 if fp16_input else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("input", in_type, [batch or "N", *input_shape])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch or "N", 10])],
        initializer=[numpy_helper.from_array(WEIGHT, "W"), numpy_helper.from_array(BIAS, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def images(n: int) -> np.ndarray:
    return RNG.normal(0, 1, (n, 1, 28, 28)).astype(np.float32)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return linear_model(tmp_path / "model.onnx")


# -- the runner ------------------------------------------------------------------------------
def test_available_here() -> None:
    ok, detail = OnnxRuntimeRunner.available()
    assert ok and detail.startswith("onnxruntime ")


@pytest.mark.parametrize("n", [1, 7])
def test_logits_match_the_known_weights(model: Path, n: int) -> None:
    x = images(n)
    with OnnxRuntimeRunner(model) as runner:
        out = runner.infer(x)
    assert out.shape == (n, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected_logits(x), rtol=1e-4, atol=1e-4)


def test_output_is_not_reused_between_calls(model: Path) -> None:
    with OnnxRuntimeRunner(model) as runner:
        a = runner.infer(images(2))
        kept = a.copy()
        runner.infer(images(2))
    np.testing.assert_array_equal(a, kept)


@pytest.mark.parametrize("io_binding", [True, False])
def test_bound_and_unbound_paths_give_the_same_logits_for_every_batch(
    model: Path, io_binding: bool
) -> None:
    batches = [images(n) for n in (1, 3, 1, 5, 3)]  # shapes come back: buffers are reused
    with OnnxRuntimeRunner(model, io_binding=io_binding) as runner:
        outs = [runner.infer(x) for x in batches]
        assert runner.info["io_binding"] is io_binding
    for x, out in zip(batches, outs):
        np.testing.assert_allclose(out, expected_logits(x), rtol=1e-4, atol=1e-4)


def test_binding_that_fails_falls_back_to_session_run(model: Path) -> None:
    runner = OnnxRuntimeRunner(model)
    runner.load()

    class RefusesBinding:
        def __init__(self, real) -> None:
            self.real = real

        def io_binding(self):
            raise RuntimeError("no binding in this build")

        def __getattr__(self, name):
            return getattr(self.real, name)

    runner._session = RefusesBinding(runner._session)
    x = images(2)
    out = runner.infer(x)
    assert runner.info["io_binding"] is False
    np.testing.assert_allclose(out, expected_logits(x), rtol=1e-4, atol=1e-4)
    runner.close()


def test_construction_is_cheap_and_load_is_lazy(tmp_path: Path) -> None:
    runner = OnnxRuntimeRunner(tmp_path / "absent.onnx")  # no file access yet
    assert not runner.loaded
    with pytest.raises(ArtifactError, match="not found") as err:
        runner.load()
    assert "\n" not in str(err.value)


def test_info_records_providers_threads_version_and_manifest(model: Path) -> None:
    import onnxruntime as ort

    write_manifest(model, build_manifest(model, "onnx", "fp32", test_accuracy=0.99))
    with OnnxRuntimeRunner(model) as runner:
        info = runner.info
    assert info["backend"] == "onnxruntime"
    assert info["providers"] == ["CPUExecutionProvider"]
    assert info["threads"] == 1 and info["intra_op_threads"] == 1
    assert info["onnxruntime"] == ort.__version__
    assert info["precision"] == "fp32" and info["format"] == "onnx"
    assert info["batch"] == "dynamic" and info["input"] == "input"


def test_precision_without_manifest_comes_from_the_suffix(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "model.fp16.onnx")
    with OnnxRuntimeRunner(path, threads=2) as runner:
        assert runner.info["precision"] == "fp16"
        assert runner.info["format"] == "onnx-fp16"
        assert runner.info["intra_op_threads"] == 2


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((1, 1, 28, 28), np.float64), "float32"),
        (np.zeros((1, 28, 28), np.float32), r"\(N, 1, 28, 28\)"),
        (np.zeros((1, 1, 14, 14), np.float32), r"\(N, 1, 28, 28\)"),
    ],
)
def test_wrong_input_is_an_input_error(model: Path, bad, match) -> None:
    with OnnxRuntimeRunner(model) as runner, pytest.raises(InputError, match=match):
        runner.infer(bad)


def test_fixed_batch_model_refuses_other_batches(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "b1.onnx", batch=1)
    with OnnxRuntimeRunner(path) as runner:
        assert runner.info["batch"] == 1
        np.testing.assert_allclose(runner.infer(images(1)).shape, (1, 10))
        with pytest.raises(InputError, match="batch 1 only"):
            runner.infer(images(3))


def test_fp16_input_model_gets_a_cast_input(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "half.onnx", fp16_input=True)
    x = images(3)
    with OnnxRuntimeRunner(path) as runner:
        out = runner.infer(x)
        assert runner.info["input_dtype"] == "float16"
    assert out.dtype == np.float32
    expected = expected_logits(x.astype(np.float16).astype(np.float32))
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)


def test_model_with_another_input_shape_is_an_artifact_error(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "rgb.onnx", input_shape=(4, 14, 14))  # 784 values, wrong layout
    with pytest.raises(ArtifactError, match=r"expected \(N, 1, 28, 28\)"):
        OnnxRuntimeRunner(path).load()


def test_corrupt_file_is_a_one_line_artifact_error(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07not an onnx protobuf" * 10)
    with pytest.raises(ArtifactError, match="ONNX Runtime cannot load it") as err:
        OnnxRuntimeRunner(path).load()
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_truncated_model_is_an_artifact_error(model: Path) -> None:
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError):
        OnnxRuntimeRunner(model).load()


def test_file_changed_after_its_manifest_is_refused(model: Path) -> None:
    write_manifest(model, build_manifest(model, "onnx", "fp32"))
    linear_model(model, batch=1)  # overwrite: sha256 no longer matches
    with pytest.raises(ArtifactError, match="sha256"):
        OnnxRuntimeRunner(model).load()
    OnnxRuntimeRunner(model, verify_hash=False).load().close()


@pytest.mark.parametrize("level", ["disable", "basic", "extended", "all"])
def test_graph_optimization_levels_give_the_same_logits(model: Path, level: str) -> None:
    x = images(2)
    with OnnxRuntimeRunner(model, graph_opt=level) as runner:
        assert runner.info["graph_opt"] == level
        np.testing.assert_allclose(runner.infer(x), expected_logits(x), rtol=1e-4, atol=1e-4)


def test_optimized_model_is_saved_and_runs(model: Path, tmp_path: Path) -> None:
    saved = tmp_path / "model.ort.onnx"
    OnnxRuntimeRunner(model, optimized_model_path=saved).load().close()
    assert saved.is_file() and saved.stat().st_size > 0
    x = images(2)
    with OnnxRuntimeRunner(saved, graph_opt="disable") as runner:
        np.testing.assert_allclose(runner.infer(x), expected_logits(x), rtol=1e-4, atol=1e-4)


def test_bad_options_are_config_errors(model: Path) -> None:
    with pytest.raises(ConfigError, match="graph_opt"):
        OnnxRuntimeRunner(model, graph_opt="max")
    with pytest.raises(ConfigError, match="threads"):
        OnnxRuntimeRunner(model, threads=0)
    with pytest.raises(ConfigError, match="provider"):
        OnnxRuntimeRunner(model, providers=["gpu"]).load()


def test_absent_provider_asked_by_name_is_unavailable(model: Path) -> None:
    import onnxruntime as ort

    if "XnnpackExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has XNNPACK")
    with pytest.raises(BackendUnavailable, match="XnnpackExecutionProvider"):
        OnnxRuntimeRunner(model, providers="xnnpack").load()


def test_auto_providers_here_run_on_cpu(model: Path) -> None:
    with OnnxRuntimeRunner(model, providers="auto") as runner:
        assert runner.info["providers"][-1] == "CPUExecutionProvider"


CPU, CUDA, TRT, XNN = (
    "CPUExecutionProvider",
    "CUDAExecutionProvider",
    "TensorrtExecutionProvider",
    "XnnpackExecutionProvider",
)


@pytest.mark.parametrize(
    "asked, present, expected",
    [
        (None, [CPU, CUDA], [CPU]),
        ("auto", [XNN, CUDA, TRT, CPU], [TRT, CUDA, CPU]),
        ("auto", [XNN, CPU], [CPU]),
        ("auto", [CUDA, CPU], [CUDA, CPU]),
        ("xnnpack", [XNN, CPU], [XNN, CPU]),
        ("cuda,cpu", [CUDA, CPU], [CUDA, CPU]),
        ([TRT, "cuda"], [TRT, CUDA, CPU], [TRT, CUDA, CPU]),
    ],
)
def test_provider_resolution(asked, present, expected) -> None:
    assert resolve_providers(asked, present) == expected


# -- open_runner -------------------------------------------------------------------------------
def fake_engine(directory: Path, manifest_extra: dict | None = None, source=None) -> Path:
    """A file with a TensorRT suffix and manifest; its bytes are not a real plan (no TensorRT
    here), which is the point: open_runner must not need to read it to fall back."""
    engine = directory / "model.engine"
    engine.write_bytes(b"not a real TensorRT plan")
    manifest = build_manifest(engine, "tensorrt", "fp16", source=source, **(manifest_extra or {}))
    write_manifest(engine, manifest)
    return engine


needs_no_tensorrt = pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here"
)


def test_onnx_opens_on_onnxruntime_unloaded(model: Path) -> None:
    runner = open_runner(model)
    assert isinstance(runner, OnnxRuntimeRunner) and not runner.loaded
    assert runner.fallback_reason is None


@needs_no_tensorrt
def test_engine_falls_back_to_its_source_onnx_and_says_why(model: Path) -> None:
    engine = fake_engine(model.parent, source=model)
    runner = open_runner(engine, threads=1)
    assert isinstance(runner, OnnxRuntimeRunner)
    assert Path(runner.path) == model
    reason = runner.fallback_reason
    assert reason and "tensorrt" in reason.lower() and "model.onnx" in reason
    assert "its source ONNX model.onnx on onnxruntime" in reason
    x = images(3)
    with runner:
        np.testing.assert_allclose(runner.infer(x), expected_logits(x), rtol=1e-4, atol=1e-4)
        assert runner.info["fallback_reason"] == reason
        assert runner.info["fallback_from"] == str(engine)


@needs_no_tensorrt
def test_fallback_onnx_key_wins(tmp_path: Path) -> None:
    other = linear_model(tmp_path / "other.int8.onnx")
    linear_model(tmp_path / "model.onnx")
    engine = fake_engine(tmp_path, manifest_extra={"fallback_onnx": "other.int8.onnx"})
    assert source_onnx(engine) == other
    assert Path(open_runner(engine).path) == other


@needs_no_tensorrt
def test_engine_without_manifest_uses_the_same_stem_onnx(model: Path) -> None:
    engine = model.parent / "model.plan"
    engine.write_bytes(b"plan")
    runner = open_runner(engine)
    assert Path(runner.path) == model and "model.plan" in (runner.fallback_reason or "")
    assert "model.onnx (the ONNX beside it) on onnxruntime" in (runner.fallback_reason or "")


@needs_no_tensorrt
def test_engine_with_no_onnx_beside_it_is_unavailable_with_reasons(tmp_path: Path) -> None:
    engine = fake_engine(tmp_path)
    with pytest.raises(BackendUnavailable, match="tensorrt") as err:
        open_runner(engine)
    assert "no source ONNX" in str(err.value) and "\n" not in str(err.value)


@needs_no_tensorrt
def test_explicit_tensorrt_does_not_fall_back(model: Path) -> None:
    engine = fake_engine(model.parent, source=model)
    with pytest.raises(BackendUnavailable, match="tensorrt"):
        open_runner(engine, backend="tensorrt")


def test_explicit_onnxruntime_on_an_engine_runs_its_source(model: Path) -> None:
    engine = fake_engine(model.parent, source=model)
    runner = open_runner(engine, backend="onnxruntime")
    assert Path(runner.path) == model
    assert "backend onnxruntime was asked for" in (runner.fallback_reason or "")


def test_unknown_backend_lists_the_names(model: Path) -> None:
    with pytest.raises(ConfigError, match="auto, .*onnxruntime.*tensorrt"):
        open_runner(model, backend="openvino")


def test_backend_that_cannot_read_the_format(model: Path) -> None:
    with pytest.raises(BackendUnavailable, match="cannot run model.onnx"):
        open_runner(model, backend="torch")


def test_manifest_format_beats_the_suffix(tmp_path: Path) -> None:
    path = linear_model(tmp_path / "exported.onnx")
    write_manifest(path, build_manifest(path, "onnx-qdq", "int8"))
    with open_runner(path) as runner:
        assert runner.info["precision"] == "int8" and runner.info["format"] == "onnx-qdq"


def test_missing_artifact_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not found"):
        open_runner(tmp_path / "nothing.onnx")


def test_manifest_is_json_beside_the_engine(model: Path) -> None:
    engine = fake_engine(model.parent, source=model)
    data = json.loads(manifest_path(engine).read_text())
    assert data["source"]["file"] == "model.onnx" and data["format"] == "tensorrt"


def test_checkpoint_without_torch_runs_the_onnx_beside_it(model: Path) -> None:
    """On a device without torch, ``model.pt`` is run as the ``model.onnx`` next to it."""
    import subprocess
    import sys

    checkpoint = model.parent / "model.pt"
    checkpoint.write_bytes(b"a checkpoint this interpreter cannot read (torch blocked)")
    script = (
        "import sys, json; sys.modules['torch'] = None\n"
        "from edgemnist.runners.open import open_runner\n"
        f"r = open_runner({str(checkpoint)!r})\n"
        "print(json.dumps([type(r).__name__, str(r.path), r.fallback_reason]))\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=str(repo), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-1500:]
    name, path, reason = json.loads(out.stdout.strip().splitlines()[-1])
    assert name == "OnnxRuntimeRunner" and Path(path) == model
    assert "torch is not usable here" in reason and "model.onnx (the ONNX beside it)" in reason


# -- a build-engine fallback (model.ort.onnx): the manifest's measured runtime choice ----------
@pytest.fixture(scope="module")
def fallback(tmp_path_factory) -> tuple:
    """A real ``model.ort.onnx`` + manifest made by ``build_fallback`` from the linear model
    (few timed runs: the choice itself is not under test, only that the runner honours it)."""
    from edgemnist.engine.ort_fallback import build_fallback

    directory = tmp_path_factory.mktemp("fallback")
    source = linear_model(directory / "model.onnx")
    result = build_fallback(
        source, directory / "engine", "no TensorRT here (test)", "fp32", runs=20
    )
    return result.artifact, result.manifest


def _rewrite_runtime(artifact: Path, tmp_path: Path, **runtime) -> Path:
    """A copy of the fallback whose manifest's ``runtime`` has the given keys changed."""
    copy = tmp_path / artifact.name
    copy.write_bytes(artifact.read_bytes())
    data = json.loads(manifest_path(artifact).read_text())
    data["runtime"].update(runtime)
    manifest_path(copy).write_text(json.dumps(data))
    return copy


def test_fallback_manifest_records_a_runtime_choice(fallback) -> None:
    artifact, manifest = fallback
    assert artifact.name == "model.ort.onnx" and manifest["format"] == "onnxruntime-optimized"
    runtime = manifest["runtime"]
    assert runtime["providers"][-1] == "CPUExecutionProvider" and runtime["threads"] >= 1
    assert runtime["graph_optimization_level"] == "ORT_ENABLE_EXTENDED"
    # the load level, measured with the winning provider and threads
    assert runtime["graph_opt"] in ("all", "extended")
    assert set(runtime["graph_opt_measured"]["p50_us"]) == {"all", "extended"}
    assert runtime["graph_opt_measured"]["threads"] == runtime["threads"]


def test_open_runner_applies_the_fallback_manifest_runtime(fallback) -> None:
    artifact, manifest = fallback
    runtime = manifest["runtime"]
    x = images(4)
    with open_runner(artifact) as runner:
        assert isinstance(runner, OnnxRuntimeRunner)
        info = runner.info
        np.testing.assert_allclose(runner.infer(x), expected_logits(x), rtol=1e-4, atol=1e-4)
    assert info["format"] == "onnxruntime-optimized"
    assert info["threads"] == runtime["threads"]
    assert info["providers"] == runtime["providers"]
    assert info["runtime_from_manifest"] == {
        "threads": runtime["threads"],
        "providers": runtime["providers"],
    }
    # saved at "extended" (portable); loaded at the level measured on this CPU
    assert info["saved_graph_opt"] == "extended"
    assert info["graph_opt"] == runtime["graph_opt"] and info["graph_opt_from"] == "manifest"


def test_explicit_options_beat_the_fallback_manifest(fallback, tmp_path: Path) -> None:
    artifact, _ = fallback
    copy = _rewrite_runtime(artifact, tmp_path, threads=2)
    with OnnxRuntimeRunner(copy, threads=1, providers="cpu", graph_opt="basic") as runner:
        info = runner.info
    assert info["threads"] == 1 and info["intra_op_threads"] == 1
    assert info["graph_opt"] == "basic"
    assert info["runtime_from_manifest"] == {}
    with OnnxRuntimeRunner(copy, threads=1) as runner:  # providers still from the manifest
        assert runner.info["runtime_from_manifest"] == {"providers": ["CPUExecutionProvider"]}
        assert runner.info["threads"] == 1


def test_manifest_threads_are_used_when_not_given(fallback, tmp_path: Path) -> None:
    artifact, _ = fallback
    copy = _rewrite_runtime(artifact, tmp_path, threads=2, providers=["CPUExecutionProvider"])
    with open_runner(copy, threads=None) as runner:
        assert runner.info["threads"] == 2 and runner.info["intra_op_threads"] == 2
        assert runner.info["runtime_from_manifest"]["threads"] == 2


def test_manifest_provider_absent_here_is_dropped_not_an_error(fallback, tmp_path: Path) -> None:
    import onnxruntime as ort

    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime build has CUDA")
    artifact, _ = fallback
    copy = _rewrite_runtime(artifact, tmp_path, providers=[CUDA, CPU])
    x = images(2)
    with open_runner(copy) as runner:
        assert runner.info["providers"] == [CPU]
        assert runner.info["manifest_providers_missing"] == [CUDA]
        np.testing.assert_allclose(runner.infer(x), expected_logits(x), rtol=1e-4, atol=1e-4)
    # asked for by name, the same provider is still an error: the caller meant it
    with pytest.raises(BackendUnavailable, match=CUDA):
        OnnxRuntimeRunner(copy, providers="cuda").load()


def test_plain_onnx_manifest_has_no_runtime_to_apply(model: Path) -> None:
    write_manifest(model, build_manifest(model, "onnx", "fp32", runtime={"threads": 2}))
    with open_runner(model) as runner:
        assert runner.info["threads"] == 1
        assert "runtime_from_manifest" not in runner.info
