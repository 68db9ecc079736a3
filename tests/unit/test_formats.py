"""The formats table: its rows are consistent, lookups and suffix/manifest detection work."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from edgemnist import formats
from edgemnist.errors import ArtifactError, BackendUnavailable, ConfigError
from edgemnist.manifest import build_manifest, write_manifest
from edgemnist.runners.base import Runner

#: manifest ``format`` values agreed in the shared conventions
AGREED_FORMATS = {
    "torch",
    "torch-int8",
    "onnx",
    "onnx-qdq",
    "onnx-fp16",
    "onnxruntime-optimized",
    "tensorrt",
}


def test_rows_are_consistent() -> None:
    names = formats.names()
    assert len(names) == len(set(names))
    assert set(names) >= AGREED_FORMATS | {"trtexec"}
    assert {f.manifest_format for f in formats.FORMATS} == AGREED_FORMATS
    for f in formats.FORMATS:
        assert f.suffixes and all(s.startswith(".") and s == s.lower() for s in f.suffixes)
        assert f.precisions and set(f.precisions) <= set(formats.PRECISIONS)
        assert f.runner.count(":") == 1 and f.runner.startswith("edgemnist.runners.")
        assert f.export is None or (
            f.export.count(":") == 1 and f.export.startswith("edgemnist.export.")
        )
        assert f.description and "\n" not in f.description
    assert set(formats.backends()) == {"torch", "onnxruntime", "tensorrt", "trtexec"}


def test_each_format_has_one_default_reader_that_auto_may_pick() -> None:
    for value in AGREED_FORMATS:
        rows = formats.rows_for_manifest_format(value)
        assert rows[0].auto, value
    gpu = {f.name for f in formats.FORMATS if f.needs_gpu}
    assert gpu == {"tensorrt", "trtexec"}
    assert not formats.lookup("trtexec").auto  # times engines, returns no logits


def test_lookup_unknown_lists_names() -> None:
    assert formats.lookup("onnx-qdq").suffixes == (".int8.onnx",)
    with pytest.raises(ConfigError, match="onnx, onnx-qdq") as err:
        formats.lookup("onnx-int4")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("model.onnx", "onnx"),
        ("model.int8.onnx", "onnx-qdq"),
        ("model.fp16.onnx", "onnx-fp16"),
        ("model.ort.onnx", "onnxruntime-optimized"),
        ("model.pt", "torch"),
        ("last.pth", "torch"),
        ("model.torch-int8.pt", "torch-int8"),
        ("model.engine", "tensorrt"),
        ("MODEL.PLAN", "tensorrt"),
    ],
)
def test_format_by_suffix(tmp_path: Path, filename: str, expected: str) -> None:
    path = tmp_path / filename
    path.write_bytes(b"x")
    assert formats.format_for_path(path).name == expected


def test_manifest_format_beats_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "renamed.onnx"
    path.write_bytes(b"x")
    write_manifest(path, build_manifest(path, "onnx-qdq", "int8"))
    assert formats.format_for_path(path).name == "onnx-qdq"


def test_manifest_with_an_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"x")
    write_manifest(path, build_manifest(path, "openvino-ir", "fp32"))
    with pytest.raises(ArtifactError, match="openvino-ir"):
        formats.format_for_path(path)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"x")
    with pytest.raises(ArtifactError, match=r"\.engine.*\.onnx"):
        formats.format_for_path(path)
    with pytest.raises(ArtifactError, match="not found"):
        formats.format_for_path(tmp_path / "absent.onnx")
    assert formats.format_for_suffix("x.tflite") is None


def test_runner_class_by_backend_or_format_name() -> None:
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    assert formats.runner_class("onnxruntime") is OnnxRuntimeRunner
    assert formats.runner_class("onnx-qdq") is OnnxRuntimeRunner
    with pytest.raises(ConfigError, match="backends are torch, onnxruntime"):
        formats.runner_class("coreml")


@pytest.mark.parametrize("backend", ["torch", "onnxruntime", "tensorrt", "trtexec"])
def test_runner_strings_point_at_runners_of_that_backend(backend: str) -> None:
    """Each row's runner, once its module exists, is a Runner whose name is the backend."""
    row = formats.lookup_any(backend)
    module = row.runner.split(":")[0]
    assert importlib.util.find_spec(module) is not None, f"{row.name}: no module {module}"
    try:
        cls = formats.runner_class(backend)
    except BackendUnavailable as exc:  # pragma: no cover - a broken runner module
        pytest.fail(str(exc))
    assert issubclass(cls, Runner) and cls.name == backend
    ok, reason = cls.available()  # never raises
    assert isinstance(ok, bool) and (ok or reason)


def test_export_strings_name_functions_defined_in_their_modules() -> None:
    """Read the export modules' source (they import torch, so they are not imported here)."""
    for row in formats.FORMATS:
        if row.export is None:
            continue
        module, func = row.export.split(":")
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, f"{row.name}: no module {module}"
        tree = ast.parse(Path(spec.origin).read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert func in defined, f"{row.name}: {module} defines no {func}()"
        assert row.made_by.startswith("edgemnist "), row.name


def _values(enum) -> tuple:
    return tuple(member.value for member in enum)


def test_cli_choice_enums_match_the_table_and_the_modules_that_use_them() -> None:
    """The CLI's choices are these enums; each must equal what the library accepts."""
    assert set(_values(formats.Backend)) == set(formats.backends())
    assert _values(formats.BackendChoice) == ("auto", *_values(formats.Backend))
    assert set(_values(formats.QuantizeBackend)) <= set(formats.backends())
    assert _values(formats.Precision) == formats.PRECISIONS
    assert {p for f in formats.FORMATS for p in f.precisions} == set(formats.PRECISIONS)
    assert set(_values(formats.QuantizePrecision)) == {"int8", "fp16"}
    assert _values(formats.BuildPrecision) == ("auto", *formats.PRECISIONS)
    # modules that import onnx/tensorrt are read, not imported
    for module, name, enum in [
        ("edgemnist.export.quantize_ort", "METHODS", formats.CalibMethod),
        ("edgemnist.export.quantize_ort", "TARGETS", formats.QuantTarget),
        ("edgemnist.engine.build", "BUILDERS", formats.Builder),
        ("edgemnist.engine.planner", "PRECISION_CHOICES", formats.BuildPrecision),
    ]:
        assert _module_tuple(module, name) == _values(enum), f"{module}.{name}"


def _module_tuple(module: str, name: str) -> tuple:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    for node in ast.parse(Path(spec.origin).read_text()).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return tuple(ast.literal_eval(value))
    raise AssertionError(f"{module} defines no {name}")
