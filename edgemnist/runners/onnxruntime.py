"""ONNX Runtime runner: CPU everywhere; XNNPACK, CUDA and TensorRT providers when present.

Defaults are chosen for batch-1 inference on small boards: one intra-op thread (on a 2-core
machine a 2-thread session showed millisecond p99 spikes at batch 1), no inter-op parallelism,
all graph optimizations.

Example:
    >>> from edgemnist.runners.onnxruntime import OnnxRuntimeRunner
    >>> with OnnxRuntimeRunner("engines/edge/model.onnx") as r:  # doctest: +SKIP
    ...     logits = r.infer(x)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from edgemnist.constants import INPUT_NAME, INPUT_SHAPE, OUTPUT_NAME
from edgemnist.errors import (
    ArtifactError,
    BackendUnavailable,
    ConfigError,
    DependencyMissing,
    InputError,
)
from edgemnist.runners.base import Runner, module_available

#: short names accepted in ``providers`` -> ONNX Runtime execution provider names
PROVIDER_ALIASES: Dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
#: ``providers="auto"`` tries these in order (XNNPACK only when asked for by name)
AUTO_ORDER = ("tensorrt", "cuda", "cpu")

GRAPH_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}

#: ONNX Runtime's level names (as a manifest records them) -> the short names above
_LEVEL_NAMES = {v: k for k, v in GRAPH_OPT_LEVELS.items()}

ProvidersArg = Union[None, str, Sequence[str]]


def resolve_providers(providers: ProvidersArg, present: Sequence[str]) -> List[str]:
    """Turn the ``providers`` option into ONNX Runtime provider names, CPU always last.

    Args:
        providers: None (CPU only), ``"auto"`` (TensorRT > CUDA > CPU, those present), a
            comma-separated string or a list of short names (``cpu``, ``xnnpack``, ``cuda``,
            ``tensorrt``) or full provider names.
        present: what ``onnxruntime.get_available_providers()`` returned.

    Returns:
        Provider names in priority order.

    Raises:
        ConfigError: an unknown provider name.
        BackendUnavailable: a provider asked for by name that this build lacks.

    Example:
        >>> resolve_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])
        ['CUDAExecutionProvider', 'CPUExecutionProvider']
    """
    if providers is None:
        return [PROVIDER_ALIASES["cpu"]]
    if isinstance(providers, str) and providers.strip().lower() == "auto":
        chosen = [PROVIDER_ALIASES[p] for p in AUTO_ORDER if PROVIDER_ALIASES[p] in present]
        return chosen or [PROVIDER_ALIASES["cpu"]]
    items = providers.split(",") if isinstance(providers, str) else list(providers)
    full_names = set(PROVIDER_ALIASES.values())
    chosen = []
    for item in (i.strip() for i in items if i and i.strip()):
        name = PROVIDER_ALIASES.get(item.lower(), item)
        if name not in full_names:
            raise ConfigError(
                f"unknown ONNX Runtime provider {item!r}: choose from "
                f"{', '.join(PROVIDER_ALIASES)} or auto"
            )
        if name not in present:
            raise BackendUnavailable(
                f"ONNX Runtime here has no {name} (it has {', '.join(present) or 'none'}): "
                "install an onnxruntime build with it, or use --providers cpu"
            )
        if name not in chosen:
            chosen.append(name)
    if PROVIDER_ALIASES["cpu"] not in chosen:
        chosen.append(PROVIDER_ALIASES["cpu"])  # runs the ops the accelerator does not take
    return chosen


class OnnxRuntimeRunner(Runner):
    """Run an ONNX model (FP32, QDQ INT8, FP16 or ORT-optimized) with ONNX Runtime.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (default 1: best batch-1 latency and tail on small boards).
        providers: None (CPU), ``"auto"`` or names; see :func:`resolve_providers`.
        graph_opt: ``"all"``, ``"extended"``, ``"basic"`` or ``"disable"``. None (default):
            the level the artifact's manifest measured fastest on this CPU
            (``runtime.graph_opt``, written by ``quantize`` and the ``build-engine`` fallback;
            see :mod:`edgemnist.runners.ort_levels`), else ``"all"``. ``info["graph_opt_from"]``
            says which.

    A ``build-engine`` fallback (``model.ort.onnx``, format ``onnxruntime-optimized``) records
    the provider and thread count measured best on the device in its manifest's ``runtime``;
    ``threads`` and ``providers`` left at None take those values on load, and
    ``info["runtime_from_manifest"]`` lists what came from there.
        optimized_model_path: if set, ONNX Runtime writes the optimized graph there on load.
        verify_hash: check the file against its manifest's sha256 (when it has a manifest).
        io_binding: on CPU-only sessions, run through ONNX Runtime's I/O binding with input and
            output buffers allocated once per batch shape: ``session.run`` builds a feed dict
            and new output arrays on every call, which costs ~5 us per call here, as much as a
            third of the edge model's whole batch-1 latency. The input is still copied into the
            bound buffer on every call (inside the timed call); ``Runner.infer`` copies the
            logits out, so callers never see a buffer that the next call overwrites. Falls back to
            ``session.run`` by itself if binding fails or disagrees on the first call.
    """

    name: ClassVar[str] = "onnxruntime"

    def __init__(
        self,
        path: Union[str, Path],
        threads: Optional[int] = None,
        providers: ProvidersArg = None,
        graph_opt: Optional[str] = None,
        optimized_model_path: Optional[Union[str, Path]] = None,
        verify_hash: bool = True,
        io_binding: bool = True,
    ) -> None:
        if graph_opt is not None and graph_opt not in GRAPH_OPT_LEVELS:
            raise ConfigError(
                f"unknown graph_opt {graph_opt!r}: choose one of {', '.join(GRAPH_OPT_LEVELS)}"
            )
        if threads is not None and int(threads) < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        super().__init__(
            Path(path),
            threads=threads,
            providers=providers,
            graph_opt=graph_opt,
            optimized_model_path=optimized_model_path,
            verify_hash=verify_hash,
            io_binding=io_binding,
        )
        self.threads = int(threads) if threads is not None else 1
        self.providers = providers
        # what the caller left to defaults may be filled from a fallback manifest on load
        self._threads_given = threads is not None
        self._providers_given = providers is not None
        self._graph_opt_given = graph_opt is not None
        self.graph_opt = graph_opt if graph_opt is not None else "all"
        self.optimized_model_path = optimized_model_path
        self.verify_hash = verify_hash
        self._session: Any = None
        self._input_name = INPUT_NAME
        self._output_name = OUTPUT_NAME
        self._input_dtype: Any = np.float32
        self._fixed_batch: Optional[int] = None
        self._io_binding = bool(io_binding)
        self._output_dtype: Any = np.float32
        #: batch shape -> (binding, input buffer, output buffer); see :meth:`_bound`
        self._bindings: Dict[Tuple[int, ...], Tuple[Any, np.ndarray, np.ndarray]] = {}

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        return module_available("onnxruntime")

    # -- backend -----------------------------------------------------------------------------
    def _load(self) -> None:
        path = Path(self.path)
        if not path.is_file():
            raise ArtifactError(f"{path} not found: export the model first (edgemnist export)")
        manifest = self._read_manifest(path)
        try:
            import onnxruntime as ort
        except ImportError:
            raise DependencyMissing("onnxruntime", extra="ort", purpose="ONNX models") from None

        present = ort.get_available_providers()
        from_manifest = self._apply_manifest_runtime(manifest, present)
        from_manifest.update(self._apply_manifest_graph_opt(manifest))
        chosen = resolve_providers(self.providers, present)
        uses_xnnpack = PROVIDER_ALIASES["xnnpack"] in chosen
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # errors only; ORT's warnings are noise for users
        opts.graph_optimization_level = getattr(
            ort.GraphOptimizationLevel, GRAPH_OPT_LEVELS[self.graph_opt]
        )
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        # XNNPACK has its own pool: ORT's intra-op pool stays at 1 so the two do not fight.
        opts.intra_op_num_threads = 1 if uses_xnnpack else self.threads
        if uses_xnnpack or self.threads > 1:
            # spinning threads steal the only other core on a 2-core board
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.optimized_model_path:
            opts.optimized_model_filepath = str(self.optimized_model_path)
        provider_args: List[Any] = [
            (p, {"intra_op_num_threads": self.threads}) if p == PROVIDER_ALIASES["xnnpack"] else p
            for p in chosen
        ]
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=provider_args)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(
                f"{path}: ONNX Runtime cannot load it ({first[:200]}): re-export the model"
            ) from None
        self._check_io(session, path)
        self._session = session
        self._bindings = {}
        self._io_binding = self._io_binding and list(session.get_providers()) == [
            PROVIDER_ALIASES["cpu"]
        ]
        self.info.update(
            {
                "backend": self.name,
                "file": str(path),
                "format": (manifest or {}).get("format") or _format_by_suffix(path),
                "precision": (manifest or {}).get("precision") or _precision_by_suffix(path),
                "providers": list(session.get_providers()),
                "threads": self.threads,
                "intra_op_threads": opts.intra_op_num_threads,
                "graph_opt": self.graph_opt,
                "onnxruntime": ort.__version__,
                "input": self._input_name,
                "input_dtype": "float16" if self._input_dtype == np.float16 else "float32",
                "batch": self._fixed_batch if self._fixed_batch is not None else "dynamic",
                "io_binding": self._io_binding,
            }
        )
        self.info.update(from_manifest)

    def _apply_manifest_runtime(
        self, manifest: Optional[Dict[str, Any]], present: Sequence[str]
    ) -> Dict[str, Any]:
        """Take threads/providers from an ``onnxruntime-optimized`` manifest's ``runtime``.

        Only options the caller left unset are taken. Providers the manifest names but this
        ONNX Runtime lacks (the file was copied from a CUDA box to a CPU one) are dropped, not an
        error: the manifest's choice is a measured preference, not a request.

        The manifest's ``graph_optimization_level`` (``ORT_ENABLE_EXTENDED``) is the level the
        file was *saved* at, not one to load it at. Loading uses ``graph_opt``: the caller's,
        else the fallback's measured ``runtime.graph_opt`` on the CPU that measured it
        (:meth:`_apply_manifest_graph_opt`), else "all". The saved graph already holds the
        portable fusions, so re-running them finds nothing to do, and the
        ``ORT_ENABLE_ALL``-only layout transforms (NCHWc for this CPU's SIMD width) are applied
        in memory for the CPU that loads the file, which is exactly why they were kept out of
        the saved file.

        Returns:
            Entries for ``info``: ``runtime_from_manifest`` (the names and values taken),
            ``saved_graph_opt``, ``manifest_providers_missing``; empty for other formats.
        """
        if not manifest or manifest.get("format") != "onnxruntime-optimized":
            return {}
        runtime = manifest.get("runtime")
        if not isinstance(runtime, dict):
            return {}
        out: Dict[str, Any] = {}
        taken: Dict[str, Any] = {}
        threads = runtime.get("threads")
        if not self._threads_given and isinstance(threads, int) and threads >= 1:
            self.threads = threads
            taken["threads"] = threads
        wanted = runtime.get("providers")
        if not self._providers_given and isinstance(wanted, list) and wanted:
            names = [PROVIDER_ALIASES.get(str(p).lower(), str(p)) for p in wanted]
            usable = [p for p in names if p in present and p in PROVIDER_ALIASES.values()]
            missing = [p for p in names if p not in usable]
            if usable:
                self.providers = usable
                taken["providers"] = usable
            if missing:
                out["manifest_providers_missing"] = missing
        saved = runtime.get("graph_optimization_level")
        if isinstance(saved, str):
            out["saved_graph_opt"] = _LEVEL_NAMES.get(saved, saved)
        out["runtime_from_manifest"] = taken
        return out

    def _apply_manifest_graph_opt(self, manifest: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """Take the graph-optimization level the manifest measured fastest, on this CPU only.

        The caller's ``graph_opt`` always wins; a choice measured on another CPU is ignored
        (:func:`~edgemnist.runners.ort_levels.manifest_choice` says why).

        Returns:
            ``{"graph_opt_from": "argument" | "manifest" | "default", "graph_opt_why": ...}``.
        """
        if self._graph_opt_given:
            return {"graph_opt_from": "argument"}
        from edgemnist.runners.ort_levels import manifest_choice

        level, why = manifest_choice(manifest)
        if level is None:
            out: Dict[str, Any] = {"graph_opt_from": "default"}
            if why:
                out["graph_opt_why"] = why
            return out
        self.graph_opt = level
        return {"graph_opt_from": "manifest", "graph_opt_why": why}

    def _read_manifest(self, path: Path) -> Optional[Dict[str, Any]]:
        from edgemnist.manifest import check_artifact_hash, read_manifest

        manifest = read_manifest(path, required=False)
        if manifest is not None and self.verify_hash:
            check_artifact_hash(path, manifest)
        return manifest

    def _check_io(self, session: Any, path: Path) -> None:
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ArtifactError(
                f"{path}: the model has {len(inputs)} inputs, expected one image input"
            )
        inp = inputs[0]
        shape = list(inp.shape)
        if len(shape) != 4 or [d if isinstance(d, int) else None for d in shape[1:]] != list(
            INPUT_SHAPE
        ):
            raise ArtifactError(
                f"{path}: the model's input {inp.name!r} has shape {shape}, expected "
                "(N, 1, 28, 28): export an MNIST model with edgemnist export"
            )
        if inp.type not in ("tensor(float)", "tensor(float16)"):
            raise ArtifactError(f"{path}: input type {inp.type} is not float32 or float16")
        self._input_name = inp.name
        self._input_dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        batch = shape[0]
        self._fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        outputs = {o.name: o for o in session.get_outputs()}
        self._output_name = OUTPUT_NAME if OUTPUT_NAME in outputs else next(iter(outputs))
        out = outputs[self._output_name]
        out_shape = list(out.shape)
        if out.type not in ("tensor(float)", "tensor(float16)") or not (
            len(out_shape) == 2 and out_shape[1] == 10
        ):
            self._io_binding = False  # an odd output: let session.run size it
        self._output_dtype = np.float16 if out.type == "tensor(float16)" else np.float32

    def _infer(self, x: np.ndarray) -> np.ndarray:
        if self._fixed_batch is not None and x.shape[0] != self._fixed_batch:
            raise InputError(
                f"{Path(self.path).name} takes batch {self._fixed_batch} only, got {x.shape[0]}: "
                "re-export with a dynamic batch or infer one image at a time"
            )
        if self._io_binding:
            bound = self._bindings.get(x.shape) or self._bind(x)
            if bound is not None:
                binding, x_buf, y_buf = bound
                np.copyto(x_buf, x, casting="same_kind")
                self._session.run_with_iobinding(binding)
                return y_buf  # Runner.infer copies it out (after the timer stops)
        if self._input_dtype is not np.float32:
            x = x.astype(self._input_dtype)
        return self._session.run([self._output_name], {self._input_name: x})[0]

    def _bind(self, x: np.ndarray) -> Optional[Tuple[Any, np.ndarray, np.ndarray]]:
        """Allocate and bind buffers for ``x.shape``; None (and binding off) if that fails.

        The first call per shape is checked against ``session.run``: a binding that errors or
        gives different logits turns binding off for this runner instead of failing inference.
        """
        shape = tuple(int(d) for d in x.shape)
        try:
            x_buf = np.empty(shape, dtype=self._input_dtype)
            y_buf = np.empty((shape[0], 10), dtype=self._output_dtype)
            binding = self._session.io_binding()
            binding.bind_input(
                self._input_name, "cpu", 0, x_buf.dtype, list(x_buf.shape), x_buf.ctypes.data
            )
            binding.bind_output(
                self._output_name, "cpu", 0, y_buf.dtype, list(y_buf.shape), y_buf.ctypes.data
            )
            np.copyto(x_buf, x, casting="same_kind")
            self._session.run_with_iobinding(binding)
            expected = self._session.run([self._output_name], {self._input_name: x_buf})[0]
            if not np.array_equal(expected, y_buf):
                raise ValueError("bound output differs from session.run")
        except Exception:
            self._io_binding = False
            self.info["io_binding"] = False
            self._bindings.clear()
            return None
        if len(self._bindings) >= 8:  # a few batch shapes live at once (1, 32, 256, tails)
            self._bindings.clear()
        self._bindings[shape] = (binding, x_buf, y_buf)
        return self._bindings[shape]

    def _close(self) -> None:
        self._bindings = {}
        self._session = None


def _format_by_suffix(path: Path) -> Optional[str]:
    from edgemnist.formats import format_for_suffix

    row = format_for_suffix(path)
    return row.manifest_format if row else None


def _precision_by_suffix(path: Path) -> Optional[str]:
    from edgemnist.formats import format_for_suffix

    row = format_for_suffix(path)
    return row.precisions[0] if row and len(row.precisions) == 1 else None
