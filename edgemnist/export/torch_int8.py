"""PyTorch INT8 (the benchmark's "PyTorch INT8" row): PT2E or eager static quantization, QAT.

Two APIs (``TorchInt8Options.api``), both gated the same way against the FP32 checkpoint:

- ``"pt2e"``, the maintained one: ``torch.export`` -> torchao's ``prepare_pt2e`` /
  ``prepare_qat_pt2e`` with ``X86InductorQuantizer`` (``ArmInductorQuantizer`` on ARM) ->
  calibrate or fine-tune -> ``convert_pt2e`` -> ``torch.export.save``. In torch 2.13 the PT2E
  entry points live only in torchao (``torch.ao.quantization.quantize_pt2e`` is gone);
  torchao's wheel does not pin torch, so ``pip install --no-deps torchao`` keeps the installed
  torch. It handles functional ops, so ``resnet18_cbam`` quantizes too. The converted graph is
  a *reference* graph (quantize/dequantize ops around float kernels): it is accurate but fast
  only once Inductor compiles it (``torch.compile``), which needs a C++ compiler and minutes
  of compile time; run as is, it is much slower than FP32 (measured: benchmarks/README.md).
  No deprecation warning comes from this path.
- ``"eager"`` (``torch.ao.quantization`` QuantStub / ``fuse_modules`` / ``prepare`` /
  ``convert``, stored as TorchScript): deprecated in torch 2.13 (both the eager API and
  TorchScript warn), kept because it runs fbgemm/x86 INT8 kernels without a compiler, which is
  what the benchmark's "PyTorch INT8" row measures. :func:`require_torch_ao` guards it by
  version and fails with a clear message once it is gone.

``api=None`` (the default) keeps ``"eager"`` while this torch still has it (its file is the one
that runs fast without a compiler), else ``"pt2e"``; ``--api pt2e`` asks for the maintained
path. The rest of this docstring describes the eager recipe.

Recipe (post-training static quantization, PTQ):

1. rebuild the FP32 model from the checkpoint, wrap it in ``QuantWrapper`` (QuantStub before,
   DeQuantStub after: float in, float out);
2. fuse Conv-BN-ReLU / Conv-BN / Conv-ReLU / Linear-ReLU runs found in ``nn.Sequential``
   containers (BatchNorm folds into the conv, ReLU into its output range);
3. ``qconfig`` for the quantized engine: ``x86`` (fbgemm's successor) on x86-64, ``qnnpack`` on
   ARM (Raspberry Pi, Jetson CPU): per-channel symmetric INT8 weights, histogram-observed UINT8
   activations;
4. ``prepare``, calibrate on the class-balanced train subset (:mod:`.calibration`), ``convert``;
5. ``--qat-epochs N``: quantization-aware training instead: ``fuse_modules_qat`` +
   ``prepare_qat``, a short low-learning-rate fine-tune with fake quantization (observers frozen
   for the last 40 % of steps, BatchNorm statistics for the last 20 %), then ``convert``.

Storage: the converted model is saved as **TorchScript** (``torch.jit.trace`` + ``torch.jit.save``)
as ``model.torch-int8.pt``. A quantized eager model's state_dict only loads into a model that has
been fused, prepared and converted the same way, i.e. it needs this recipe and the model code; a
TorchScript archive carries graph and packed weights, so ``torch.jit.load`` alone runs it (on a
Raspberry Pi with torch and nothing of edgemnist's model zoo). Packed weights are re-packed for
the engine active at load time, so an x86-made file also runs under qnnpack.

Models that use functional ops on quantized tensors (``resnet18_cbam``: residual ``+``,
attention ``*``) cannot run in eager mode without rewriting them; they get a clear error:
use the ONNX Runtime INT8 path for them.

Both kinds of file are named ``model.torch-int8.pt``; :func:`load_int8` tells them apart by
content (a ``torch.export`` archive has an ``archive_format`` member).
"""

from __future__ import annotations

import contextlib
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from edgemnist.errors import BackendUnavailable, ConfigError
from edgemnist.export.calibration import DEFAULT_SEED, DEFAULT_SIZE
from edgemnist.export.onnx_export import ExportResult
from edgemnist.export.verify import DEFAULT_THRESHOLD

PathLike = Union[str, Path]
SUFFIX = ".torch-int8.pt"
APIS = ("pt2e", "eager")


def pt2e_available() -> Tuple[bool, str]:
    """Whether torchao's PT2E quantization imports here, and why not. Never raises."""
    try:
        from torchao.quantization.pt2e import quantize_pt2e  # noqa: F401
    except Exception as exc:  # ImportError, or a torchao built for another torch
        return False, f"torchao PT2E not importable ({type(exc).__name__}: {str(exc)[:120]})"
    return True, "torchao PT2E"


def choose_api(api: Optional[str]) -> str:
    """``api`` checked, or the default: ``eager`` while torch has it, else ``pt2e``.

    Raises:
        ConfigError: unknown api.
        BackendUnavailable: ``pt2e`` asked for without torchao.
    """
    if api is None:
        try:
            require_torch_ao()
            return "eager"
        except BackendUnavailable:
            api = "pt2e"
    if api not in APIS:
        raise ConfigError(f"unknown PyTorch quantization api {api!r}: choose {', '.join(APIS)}")
    if api == "pt2e":
        ok, why = pt2e_available()
        if not ok:
            raise BackendUnavailable(
                f"{why}: pip install --no-deps torchao (keeps this torch), or use --api eager"
            )
    return api


def is_export_archive(path: PathLike) -> bool:
    """True for a ``torch.export.save`` archive (PT2E files); False for TorchScript or else."""
    import zipfile

    try:
        with zipfile.ZipFile(str(path)) as z:
            return any(n.endswith("/archive_format") for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def load_int8(path: PathLike) -> Any:
    """Load a ``model.torch-int8.pt`` of either kind as a callable module (float in, float out)."""
    import warnings

    import torch

    if is_export_archive(path):
        with open(path, "rb") as f:  # a file object: by name, torch.export wants a .pt2 suffix
            return torch.export.load(f).module()
    with warnings.catch_warnings():
        # TorchScript is deprecated but is what makes an eager-INT8 file self-contained
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(path), map_location="cpu")
    return model.eval()


def select_engine(preferred: Optional[str] = None) -> str:
    """The quantized engine to use: ``preferred`` if this torch has it, else the platform's.

    x86-64 -> ``x86`` (or ``fbgemm`` on old torch), ARM -> ``qnnpack``.
    """
    import torch

    supported = list(torch.backends.quantized.supported_engines)
    if preferred and preferred in supported:
        return preferred
    machine = platform.machine().lower()
    order = ["qnnpack"] if machine.startswith(("arm", "aarch64")) else ["x86", "fbgemm", "onednn"]
    for engine in order + ["qnnpack"]:
        if engine in supported:
            return engine
    raise BackendUnavailable(
        f"this torch has no quantized CPU engine (supported: {supported}): use the ONNX "
        "Runtime INT8 model instead"
    )


def require_torch_ao() -> Any:
    """Import ``torch.ao.quantization`` or raise a clear error (version guard).

    Returns:
        The ``torch.ao.quantization`` module.

    Raises:
        BackendUnavailable: torch too old (< 1.13) or the eager API was removed.
    """
    import warnings

    import torch

    version = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
    if version < (1, 13):
        raise BackendUnavailable(
            f"torch {torch.__version__} is too old for torch.ao.quantization: install torch>=2.2"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import torch.ao.quantization as tq

            for name in ("QuantWrapper", "fuse_modules", "prepare", "convert", "prepare_qat"):
                getattr(tq, name)
    except (ImportError, AttributeError):
        raise BackendUnavailable(
            f"torch {torch.__version__} no longer ships eager torch.ao.quantization: use the "
            "ONNX Runtime INT8 model, or torchao PT2E (see edgemnist.export.torch_int8)"
        ) from None
    return tq


@contextlib.contextmanager
def quantized_kernels_allowed() -> Iterator[None]:
    """Let quantized kernels run while ``torch.use_deterministic_algorithms(True)`` is on.

    Training turns deterministic algorithms on process-wide; several quantized CPU kernels have
    no "deterministic" variant (they are deterministic on CPU, just not declared so) and refuse
    to run under it. The previous setting is restored on exit.
    """
    import torch

    was = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn_only)


def fusion_groups(model: Any, prefix: str = "") -> List[List[str]]:
    """Names of Conv-BN-ReLU, Conv-BN, Conv-ReLU and Linear-ReLU runs inside ``nn.Sequential``s.

    Example:
        >>> from edgemnist.models import build_model  # doctest: +SKIP
        >>> fusion_groups(build_model("lenet5"))[:2]  # doctest: +SKIP
        [['features.0', 'features.1'], ['features.3', 'features.4']]
    """
    from torch import nn

    patterns = [
        (nn.Conv2d, nn.BatchNorm2d, nn.ReLU),
        (nn.Conv2d, nn.BatchNorm2d),
        (nn.Conv2d, nn.ReLU),
        (nn.Linear, nn.BatchNorm1d),
        (nn.Linear, nn.ReLU),
    ]
    groups: List[List[str]] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        i = 0
        while i < len(children):
            for pattern in patterns:
                window = children[i : i + len(pattern)]
                if len(window) == len(pattern) and all(
                    type(m) is t for (_, m), t in zip(window, pattern)
                ):
                    base = f"{prefix}{name}." if name else prefix
                    groups.append([base + child for child, _ in window])
                    i += len(pattern) - 1
                    break
            i += 1
    return groups


def _train_images(limit: Optional[int]) -> Any:
    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split

    images, labels = load_split("train")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return normalize(images), labels


def _fine_tune(
    model: Any, epochs: int, limit: Optional[int], seed: int, on_step: Any = None
) -> None:
    """Adam (lr 1e-4, batch 128) on the train split for ``epochs``; ``on_step(step, total)``."""
    import torch

    images, labels = _train_images(limit)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels.astype("int64"))
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch = 128
    steps_per_epoch = (len(x_all) + batch - 1) // batch
    total = max(1, epochs * steps_per_epoch)
    step = 0
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=gen)
        for start in range(0, len(x_all), batch):
            idx = order[start : start + batch]
            loss = torch.nn.functional.cross_entropy(model(x_all[idx]), y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if on_step is not None:
                on_step(step, total)


def _qat(wrapped: Any, tq: Any, engine: str, epochs: int, limit: Optional[int], seed: int) -> None:
    """Short quantization-aware fine-tune of ``wrapped`` (fused, QAT-prepared) in place."""
    from torch.ao.nn.intrinsic import qat as nniqat

    def freeze(step: int, total: int) -> None:
        if step == int(total * 0.6):
            wrapped.apply(tq.disable_observer)
        if step == int(total * 0.8):
            wrapped.apply(nniqat.freeze_bn_stats)

    wrapped.train()
    _fine_tune(wrapped, epochs, limit, seed, freeze)
    wrapped.eval()


def _pt2e_quantizer(is_qat: bool) -> Tuple[Any, str]:
    """torchao's Inductor quantizer for this CPU: x86 (default config) or ARM."""
    machine = platform.machine().lower()
    if machine.startswith(("arm", "aarch64")):
        from torchao.quantization.pt2e.quantizer import arm_inductor_quantizer as aq

        config = aq.get_default_arm_inductor_quantization_config(is_qat=is_qat)
        return aq.ArmInductorQuantizer().set_global(config), "ArmInductorQuantizer"
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as xq

    config = xq.get_default_x86_inductor_quantization_config(is_qat=is_qat)
    return xq.X86InductorQuantizer().set_global(config), "X86InductorQuantizer"


def _pt2e(
    model: Any, calib: Any, qat_epochs: int, qat_limit: Optional[int], seed: int
) -> Tuple[Any, str]:
    """PT2E PTQ (or QAT): the quantized ``torch.export.ExportedProgram`` and the quantizer name."""
    import torch
    from torchao.quantization.pt2e import move_exported_model_to_eval, move_exported_model_to_train
    from torchao.quantization.pt2e.quantize_pt2e import (
        convert_pt2e,
        prepare_pt2e,
        prepare_qat_pt2e,
    )

    example = (torch.from_numpy(calib.images[:2]),)  # batch 2: batch 1 would specialize
    dynamic = ({0: torch.export.Dim.AUTO},)
    quantizer, qname = _pt2e_quantizer(bool(qat_epochs))
    if qat_epochs:
        graph = torch.export.export(model.train(), example, dynamic_shapes=dynamic).module()
        prepared = prepare_qat_pt2e(graph, quantizer)
        move_exported_model_to_train(prepared)
        _fine_tune(prepared, qat_epochs, qat_limit, seed)
        move_exported_model_to_eval(prepared)
    else:
        graph = torch.export.export(model.eval(), example, dynamic_shapes=dynamic).module()
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for start in range(0, calib.size, 100):
                prepared(torch.from_numpy(calib.images[start : start + 100]))
    converted = convert_pt2e(prepared)
    return torch.export.export(converted, example, dynamic_shapes=dynamic), qname


@dataclass
class TorchInt8Options:
    """How :func:`export_torch_int8` quantizes and gates (defaults: PTQ, the platform's engine)."""

    # PTQ calibration images (class-balanced, train split)
    calib_size: int = DEFAULT_SIZE
    # seed of the calibration subset and of the QAT shuffle
    seed: int = DEFAULT_SEED
    # 0 = PTQ; N > 0 = N epochs of quantization-aware fine-tuning
    qat_epochs: int = 0
    # QAT on the first ``qat_limit`` training images only (tests, quick runs)
    qat_limit: Optional[int] = None
    # quantized engine (x86, fbgemm, qnnpack; eager API only); None = the platform's
    engine: Optional[str] = None
    # accepted test-accuracy drop vs the FP32 checkpoint, percentage points
    threshold: float = DEFAULT_THRESHOLD
    # keep the result even if it fails the gate
    force: bool = False
    # torch threads
    threads: Optional[int] = None
    # gate on the first ``limit`` test images only (None: all 10 000)
    limit: Optional[int] = None
    # pt2e (torchao, maintained) or eager (deprecated torch.ao); None: eager while this torch
    # has it, else pt2e
    api: Optional[str] = None


def export_torch_int8(
    checkpoint: PathLike,
    out: Optional[PathLike] = None,
    options: Optional[TorchInt8Options] = None,
) -> ExportResult:
    """Quantize a checkpoint with PyTorch (PTQ, or QAT if ``qat_epochs``) and gate it.

    Args:
        checkpoint: ``model.pt``.
        out: destination (default ``model.torch-int8.pt`` beside the checkpoint).
        options: API, calibration or QAT, engine and gate (default: :class:`TorchInt8Options`()).

    Returns:
        An :class:`~edgemnist.export.onnx_export.ExportResult`.

    Raises:
        CheckpointError: unreadable checkpoint or unknown model.
        ConfigError: the model uses ops eager quantization cannot run (e.g. resnet18_cbam).
        BackendUnavailable: no torchao/torch.ao.quantization or no quantized engine here.
        GateError: accuracy dropped by more than ``options.threshold`` (and not ``force``).
    """
    opts = options if options is not None else TorchInt8Options()
    qat_epochs, qat_limit, threads = opts.qat_epochs, opts.qat_limit, opts.threads
    import copy
    import warnings

    import torch

    from edgemnist.atomic import atomic_path
    from edgemnist.export.calibration import load_calibration
    from edgemnist.export.onnx_export import _parity_record
    from edgemnist.export.quantize_ort import _gate
    from edgemnist.manifest import build_manifest, write_manifest
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint

    if qat_epochs < 0:
        raise ConfigError(f"--qat-epochs must be >= 0, got {qat_epochs}")
    if choose_api(opts.api) == "pt2e":
        return _export_pt2e(Path(checkpoint), out, opts)
    tq = require_torch_ao()
    checkpoint = Path(checkpoint)
    ckpt = load_checkpoint(checkpoint)
    name = ckpt["model"]["name"]
    out = Path(out) if out is not None else _default_out(checkpoint)
    if threads is not None:
        torch.set_num_threads(int(threads))
    supported = list(torch.backends.quantized.supported_engines)
    if opts.engine is not None and opts.engine not in supported:
        raise ConfigError(
            f"quantized engine {opts.engine!r} not available here: choose {', '.join(supported)}"
        )
    engine = select_engine(opts.engine)
    torch.backends.quantized.engine = engine
    calib = load_calibration(opts.calib_size, opts.seed)

    model = model_from_checkpoint(ckpt)
    wrapped = tq.QuantWrapper(copy.deepcopy(model))
    groups = fusion_groups(wrapped.module, prefix="module.")
    with warnings.catch_warnings(), quantized_kernels_allowed():
        warnings.simplefilter("ignore")  # deprecation and observer notices, one per module
        if qat_epochs:
            wrapped.train()
            tq.fuse_modules_qat(wrapped, groups, inplace=True)
            wrapped.qconfig = tq.get_default_qat_qconfig(engine)
            tq.prepare_qat(wrapped, inplace=True)
            _qat(wrapped, tq, engine, qat_epochs, qat_limit, opts.seed)
        else:
            wrapped.eval()
            tq.fuse_modules(wrapped, groups, inplace=True)
            wrapped.qconfig = tq.get_default_qconfig(engine)
            tq.prepare(wrapped, inplace=True)
            with torch.inference_mode():
                for start in range(0, calib.size, 100):
                    wrapped(torch.from_numpy(calib.images[start : start + 100]))
        wrapped.eval()
        tq.convert(wrapped, inplace=True)
        example = torch.from_numpy(calib.images[:2])
        try:
            with torch.inference_mode():
                wrapped(example)
            with torch.no_grad():
                traced = torch.jit.trace(wrapped, example)
        except (NotImplementedError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, NotImplementedError) and "Quantized" not in str(exc):
                raise
            raise ConfigError(
                f"{name} cannot run in PyTorch eager INT8 ({first[:120]}): it uses functional "
                "ops on quantized tensors; use the ONNX Runtime INT8 model (edgemnist quantize "
                "model.onnx)"
            ) from None

    with atomic_path(out, suffix=SUFFIX) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see "Storage" above
            torch.jit.save(traced, str(tmp))
        report = _gate(tmp, checkpoint, out, opts.threshold, opts.force, opts.threads, opts.limit)

    quant: Dict[str, Any] = {
        "tool": "torch.ao.quantization (eager mode)",
        "api": "eager",
        "mode": "qat" if qat_epochs else "ptq",
        "qat_epochs": qat_epochs,
        "qat_images": qat_limit,
        "engine": engine,
        "weights": "int8 per-channel symmetric",
        "activations": "uint8 per-tensor affine",
        "fused": [".".join(g[0].split(".")[1:]) for g in groups],
        "storage": "torchscript",
    }
    manifest = build_manifest(
        out,
        "torch-int8",
        "int8",
        source=checkpoint,
        model={"name": name, "args": ckpt["model"].get("args", {})},
        test_accuracy=report.accuracy,
        reference_accuracy=report.reference_accuracy,
        parity=_parity_record(report),
        quantization=quant,
        calibration=None if qat_epochs else calib.record(),
        versions={"torch": str(torch.__version__)},
    )
    return ExportResult(out, write_manifest(out, manifest), manifest, report)


def _export_pt2e(checkpoint: Path, out: Optional[PathLike], opts: TorchInt8Options) -> ExportResult:
    """The PT2E branch of :func:`export_torch_int8` (same arguments, same gate and manifest)."""
    import torch

    from edgemnist.atomic import atomic_path
    from edgemnist.export.calibration import load_calibration
    from edgemnist.export.onnx_export import _parity_record
    from edgemnist.export.quantize_ort import _gate
    from edgemnist.manifest import build_manifest, write_manifest
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint

    ckpt = load_checkpoint(checkpoint)
    out = Path(out) if out is not None else _default_out(checkpoint)
    if opts.threads is not None:
        torch.set_num_threads(int(opts.threads))
    calib = load_calibration(opts.calib_size, opts.seed)
    program, qname = _pt2e(
        model_from_checkpoint(ckpt), calib, opts.qat_epochs, opts.qat_limit, opts.seed
    )
    with atomic_path(out, suffix=SUFFIX) as tmp:
        with open(tmp, "wb") as f:  # a file object: by name, torch.export wants a .pt2 suffix
            torch.export.save(program, f)
        report = _gate(tmp, checkpoint, out, opts.threshold, opts.force, opts.threads, opts.limit)
    import torchao

    quant: Dict[str, Any] = {
        "tool": f"torchao PT2E ({qname})",
        "api": "pt2e",
        "mode": "qat" if opts.qat_epochs else "ptq",
        "qat_epochs": opts.qat_epochs,
        "qat_images": opts.qat_limit,
        "engine": None,
        "weights": "int8 per-channel symmetric",
        "activations": "uint8 per-tensor affine",
        "storage": "torch.export",
        "runtime": "reference graph (quantize/dequantize around float ops) unless torch.compile",
    }
    manifest = build_manifest(
        out,
        "torch-int8",
        "int8",
        source=checkpoint,
        model={"name": ckpt["model"]["name"], "args": ckpt["model"].get("args", {})},
        test_accuracy=report.accuracy,
        reference_accuracy=report.reference_accuracy,
        parity=_parity_record(report),
        quantization=quant,
        calibration=None if opts.qat_epochs else calib.record(),
        versions={"torch": str(torch.__version__), "torchao": str(torchao.__version__)},
    )
    return ExportResult(out, write_manifest(out, manifest), manifest, report)


def _default_out(checkpoint: Path) -> Path:
    stem = checkpoint.name[: -len(".pt")] if checkpoint.name.endswith(".pt") else checkpoint.stem
    return checkpoint.with_name(stem + SUFFIX)
