"""Checkpoint -> one self-contained FP32 ONNX file, gated against the PyTorch model.

Exporter choice (torch 2.13):

- opset 9..17 (default **13**): the TorchScript exporter (``torch.onnx.export(..., dynamo=False)``).
  TensorRT 8.2, the last TensorRT on the original Jetson Nano, reads opset <= 13, and the dynamo
  exporter cannot produce anything below opset 18 (it silently keeps 18). The TorchScript
  exporter is deprecated but still ships; it also folds BatchNorm into the convolutions.
- opset 18..23: the dynamo exporter with ``external_data=False`` (by default it writes the weights
  to a separate ``.data`` file; a deployable model must be one file).

Input ``input`` (N, 1, 28, 28) float32 with a dynamic batch; output ``logits`` (N, 10). Key facts
go into ``metadata_props`` (read them with ``onnx.load(p).metadata_props`` or Netron) and a JSON
manifest beside the file. The file is written to a temporary name, checked, gated, and only then
renamed into place: a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Union

from edgemnist.constants import INPUT_NAME, MNIST_MEAN, MNIST_STD, OUTPUT_NAME
from edgemnist.errors import ArtifactError, ConfigError
from edgemnist.export.verify import DEFAULT_THRESHOLD, ParityReport

DEFAULT_OPSET = 13
TORCHSCRIPT_OPSETS = range(9, 18)  # 9 is the lowest with initializers kept out of the inputs
DYNAMO_OPSETS = range(18, 24)

PathLike = Union[str, Path]


@dataclass
class ExportResult:
    """What an export step produced."""

    path: Path
    manifest_path: Path
    manifest: Dict[str, Any]
    report: Optional[ParityReport]


def exporter_for(opset: int) -> str:
    """``"torchscript"`` or ``"dynamo"`` for ``opset``.

    Raises:
        ConfigError: neither exporter of this torch can produce that opset.
    """
    if opset in TORCHSCRIPT_OPSETS:
        return "torchscript"
    if opset in DYNAMO_OPSETS:
        return "dynamo"
    raise ConfigError(
        f"opset {opset} cannot be exported: choose {TORCHSCRIPT_OPSETS.start}.."
        f"{DYNAMO_OPSETS.stop - 1} (13 for TensorRT 8.2 on the Jetson Nano)"
    )


def read_onnx(path: PathLike, check: bool = True) -> Any:
    """Load an ONNX model file and run ``onnx.checker`` on it.

    Raises:
        ArtifactError: missing, not ONNX, corrupt, or with external data (one line each).
    """
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} not found: give the path of an ONNX model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, IO errors
        raise ArtifactError(
            f"{path} is not an ONNX model ({type(exc).__name__}): "
            "export one with `edgemnist export`"
        ) from None
    if not model.graph.node or not model.opset_import:
        raise ArtifactError(
            f"{path} is not an ONNX model (no graph): export one with `edgemnist export`"
        )
    if has_external_data(model):
        raise ArtifactError(
            f"{path} keeps weights in an external file: re-export it as one self-contained file"
        )
    if check:
        try:
            onnx.checker.check_model(model)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"{path}: invalid ONNX ({first[:200]})") from None
    return model


def has_external_data(model: Any) -> bool:
    """Whether any initializer of ``model`` lives in an external file."""
    import onnx

    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def set_metadata(model: Any, props: Dict[str, Any]) -> None:
    """Set ``metadata_props`` entries, replacing old ones (non-strings are JSON-encoded)."""
    existing = {p.key: p for p in model.metadata_props}
    for key, value in props.items():
        text = value if isinstance(value, str) else json.dumps(value)
        if key in existing:
            existing[key].value = text
        else:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, text


def get_metadata(model: Any) -> Dict[str, str]:
    """``metadata_props`` as a dict of strings."""
    return {p.key: p.value for p in model.metadata_props}


def opset_of(model: Any) -> int:
    """The default-domain opset version of ``model``."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _export(model: Any, dest: Path, opset: int) -> None:
    """Run the exporter chosen for ``opset`` into ``dest``."""
    import torch

    dummy = torch.zeros(2, 1, 28, 28)
    if exporter_for(opset) == "torchscript":
        with warnings.catch_warnings():
            # deliberate: the only exporter that writes opset 13 (see the module docstring)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (dummy,),
                str(dest),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
                do_constant_folding=True,
            )
    else:
        import logging

        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        torch.onnx.export(
            model,
            (dummy,),
            str(dest),
            dynamo=True,
            opset_version=opset,
            external_data=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("N", min=1, max=4096)},),
            verbose=False,
        )


def export_onnx(
    checkpoint: PathLike,
    out: Optional[PathLike] = None,
    opset: int = DEFAULT_OPSET,
    threshold: float = DEFAULT_THRESHOLD,
    force: bool = False,
    threads: Optional[int] = None,
    limit: Optional[int] = None,
) -> ExportResult:
    """Export an edgemnist checkpoint to ONNX and gate it against the PyTorch model.

    Args:
        checkpoint: ``model.pt`` written by training.
        out: destination (default: the checkpoint's path with ``.onnx``).
        opset: ONNX opset (13 default; see the module docstring).
        threshold: accepted test-accuracy drop vs PyTorch, percentage points.
        force: keep the file even if it fails the gate.
        threads: CPU threads for both runtimes during the gate.
        limit: gate on the first ``limit`` test images only (None: all 10 000).

    Returns:
        An :class:`ExportResult` (path, manifest, parity report).

    Raises:
        CheckpointError: unreadable checkpoint or unknown model.
        ConfigError: an opset the exporter cannot produce.
        GateError: accuracy dropped by more than ``threshold`` (and not ``force``).
    """
    import onnx
    import torch

    from edgemnist import __version__
    from edgemnist.atomic import atomic_path, sha256_file
    from edgemnist.data.mnist import load_test_set
    from edgemnist.export.verify import enforce, parity_report
    from edgemnist.manifest import build_manifest, write_manifest
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint

    checkpoint = Path(checkpoint)
    exporter = exporter_for(opset)  # before any work: a bad opset costs nothing
    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    if threads is not None:
        torch.set_num_threads(int(threads))
    out = Path(out) if out is not None else checkpoint.with_suffix(".onnx")
    if out.resolve() == checkpoint.resolve():
        raise ConfigError(f"--out {out} would overwrite the checkpoint: choose a .onnx path")

    with atomic_path(out, suffix=".onnx") as tmp:
        try:
            _export(model, tmp, opset)
        except ConfigError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"the {exporter} exporter cannot export {ckpt['model']['name']} at opset "
                f"{opset} ({first[:160]}): try --opset {DEFAULT_OPSET}"
            ) from None
        _remove_stray_data(tmp)
        proto = read_onnx(tmp)
        if opset_of(proto) != opset:
            raise ConfigError(
                f"the {exporter} exporter wrote opset {opset_of(proto)}, not {opset}: "
                f"choose --opset {DEFAULT_OPSET} or >= 18"
            )
        images, labels = load_test_set(limit)
        from edgemnist.export.verify import artifact_info, artifact_logits

        ref_logits = artifact_logits(checkpoint, images, threads)
        logits = artifact_logits(tmp, images, threads)
        report = parity_report(logits, labels, ref_logits, threshold, str(out), str(checkpoint))
        report.backend = artifact_info(tmp).get("backend")
        enforce(report, force, out.name)
        set_metadata(
            proto,
            {
                "edgemnist_version": __version__,
                "model": ckpt["model"]["name"],
                "model_args": ckpt["model"].get("args", {}),
                "precision": "fp32",
                "normalization": {"mean": MNIST_MEAN, "std": MNIST_STD, "scale": 1 / 255},
                "input": f"{INPUT_NAME} float32 [N,1,28,28]",
                "output": f"{OUTPUT_NAME} float32 [N,10]",
                "test_accuracy": f"{report.accuracy:.4f}",
                "source_sha256": sha256_file(checkpoint),
            },
        )
        proto.doc_string = f"edgemnist {ckpt['model']['name']} (MNIST digits), FP32"
        onnx.save(proto, str(tmp))

    manifest = build_manifest(
        out,
        "onnx",
        "fp32",
        source=checkpoint,
        model={"name": ckpt["model"]["name"], "args": ckpt["model"].get("args", {})},
        opset=opset,
        exporter=exporter,
        test_accuracy=report.accuracy,
        reference_accuracy=report.reference_accuracy,
        parity=_parity_record(report),
        versions={"torch": str(torch.__version__), "onnx": onnx.__version__, **_ort_version()},
    )
    return ExportResult(out, write_manifest(out, manifest), manifest, report)


def _parity_record(report: ParityReport) -> Dict[str, Any]:
    """The part of a parity report a manifest keeps."""
    return {
        "reference": Path(report.reference).name if report.reference else None,
        "images": report.images,
        "agreement": report.agreement,
        "max_abs_dlogit": report.max_abs_dlogit,
        "accuracy_drop": report.accuracy_drop,
        "max_drop": report.max_drop,
        "passed": report.passed,
        "flips": len(report.flips),
    }


def _ort_version() -> Dict[str, str]:
    try:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__}
    except ImportError:
        return {}


def _remove_stray_data(tmp: Path) -> None:
    """Delete a ``.data`` file an exporter may have written beside ``tmp`` (we inline weights)."""
    for cand in (tmp.with_name(tmp.name + ".data"), tmp.with_suffix(".data")):
        if cand.exists():
            cand.unlink()
