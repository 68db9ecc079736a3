"""Score artifacts on corrupted MNIST: accuracy per corruption, corruption errors, flags.

Every artifact runs on the same images: the first ``limit`` test digits, clean and under each
corruption of :mod:`edgemnist.robustness.corruptions` (generated once per corruption and shared
by all artifacts, never written to disk). Measures, per artifact:

- accuracy on the clean subset and under each corruption, scored by :mod:`edgemnist.scoring`
  (rates are fractions in the report, percentages only when printed);
- corruption error ``E_c`` = 1 - accuracy under corruption ``c`` (MNIST-C reports these error
  rates), and their mean over corruptions (``mean_error``);
- ``CE_c`` = ``E_c / E_c(baseline)`` and ``mCE`` = mean of ``CE_c`` (Hendrycks & Dietterich
  2019's normalization, one severity here; printed x 100), against a baseline artifact
  (default: the first one given). 1.0 = as robust as the baseline, above = less robust;
- against its FP32 reference (the manifest's ``source`` when that file is among the artifacts,
  else the baseline): the clean accuracy drop and the mean corrupted accuracy drop. The artifact
  is **flagged** when robustness drops by more than the clean accuracy does, by more than
  ``margin`` (default 0.25 percentage points). Corruptions whose own drop exceeds the clean drop
  by more than ``corruption_margin`` (default 1.0 point) are listed.

Device side: numpy + the runners (ONNX Runtime, TensorRT, ...), no torch unless an artifact is a
PyTorch file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from edgemnist.errors import ArtifactError, ConfigError
from edgemnist.robustness.corruptions import CORRUPTIONS, corrupt, select

SCHEMA = "edgemnist.robustness/1"
DEFAULT_LIMIT = 2000
DEFAULT_MARGIN = 0.0025  # 0.25 points of mean corrupted accuracy beyond the clean drop
DEFAULT_CORRUPTION_MARGIN = 0.01  # 1 point, per corruption
BATCH = 500
CLEAN = "clean"

PathLike = Union[str, Path]
Progress = Callable[[str, int, int], None]


def label_for(path: Path, others: Sequence[Path]) -> str:
    """A short name for an artifact: ``parent/file``, or the file alone when that is unique."""
    names = [p.name for p in others]
    return path.name if names.count(path.name) == 1 else f"{path.parent.name}/{path.name}"


def _precision(path: Path) -> Optional[str]:
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(path, required=False) or {}
    except ArtifactError:
        return None
    return manifest.get("precision")


def _reference_of(path: Path, given: Sequence[Path], baseline: Path) -> Optional[Path]:
    from edgemnist.export.verify import default_reference

    ref = default_reference(path)
    resolved = {p.resolve(): p for p in given}
    if ref is not None and ref.resolve() in resolved:
        return resolved[ref.resolve()]
    return None if path.resolve() == baseline.resolve() else baseline


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    from edgemnist.scoring import score_logits

    return score_logits(logits, labels).accuracy


def _r(x: Any) -> float:
    return round(float(x), 6)


def evaluate(
    artifacts: Sequence[PathLike],
    corruptions: Optional[str] = None,
    limit: int = DEFAULT_LIMIT,
    seed: int = 0,
    threads: Optional[int] = 1,
    baseline: Optional[PathLike] = None,
    margin: float = DEFAULT_MARGIN,
    corruption_margin: float = DEFAULT_CORRUPTION_MARGIN,
    progress: Optional[Progress] = None,
) -> Dict[str, Any]:
    """Run every artifact on the clean and corrupted test subsets; the report as a dict.

    Args:
        artifacts: model files (ONNX, engines, checkpoints: whatever ``open_runner`` reads).
        corruptions: comma list of corruption names (None: all of them).
        limit: test images per corruption (the first ``limit`` of the test split).
        seed: corruption seed.
        threads: CPU threads per backend.
        baseline: the artifact CE/mCE are normalized by (default: the first artifact);
            added to the run when not among ``artifacts``.
        margin: flag an artifact whose mean corrupted accuracy drops more than its clean
            accuracy does, by more than this (a fraction: 0.0025 = 0.25 points), relative to
            its FP32 reference.
        corruption_margin: list corruptions whose drop exceeds the clean drop by this much.
        progress: called as ``progress(corruption, done, total)`` after each corruption.

    Returns:
        The report (schema :data:`SCHEMA`); see the module docstring for the measures.

    Raises:
        ConfigError: no artifacts, a bad limit or an unknown corruption.
        ArtifactError: an artifact is missing.
    """
    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_test_set
    from edgemnist.formats import runner_options
    from edgemnist.runners.open import open_runner

    if not artifacts:
        raise ConfigError("give at least one artifact (e.g. engines/edge/model.onnx)")
    if limit < 1:
        raise ConfigError(f"--limit {limit}: give a positive number of test images")
    paths = [Path(a) for a in artifacts]
    base = Path(baseline) if baseline is not None else paths[0]
    if all(base.resolve() != p.resolve() for p in paths):
        paths.insert(0, base)
    for p in paths:
        if not p.is_file():
            raise ArtifactError(f"{p} not found: give the path of an exported model")
    names = select(corruptions)

    images, labels = load_test_set(limit)
    indices = np.arange(len(images))
    runners = []
    try:
        for p in paths:
            opts = dict(runner_options(p))
            if threads is not None:
                opts["threads"] = threads
            r = open_runner(p, **opts)
            r.load()
            runners.append(r)
        acc: Dict[str, Dict[str, float]] = {str(p): {} for p in paths}
        sets = [CLEAN, *names]
        for done, name in enumerate(sets, start=1):
            x = images if name == CLEAN else corrupt(name, images, seed, indices.tolist())
            xn = normalize(x)
            for p, r in zip(paths, runners):
                logits = np.concatenate(
                    [r.infer(xn[i : i + BATCH]) for i in range(0, len(xn), BATCH)], axis=0
                )
                acc[str(p)][name] = _accuracy(logits, labels)
            if progress is not None:
                progress(name, done, len(sets))
        backends = [str(r.info.get("backend", "")) for r in runners]
    finally:
        for r in runners:
            r.close()

    rows = []
    base_acc = acc[str(base)]
    for p, backend in zip(paths, backends):
        a = acc[str(p)]
        errors = {c: _r(1.0 - a[c]) for c in names}
        ce = {
            c: (_r(errors[c] / (1.0 - base_acc[c])) if base_acc[c] < 1.0 else None) for c in names
        }
        ce_vals = [v for v in ce.values() if v is not None]
        row: Dict[str, Any] = {
            "label": label_for(p, paths),
            "path": str(p),
            "precision": _precision(p),
            "backend": backend,
            "clean_accuracy": a[CLEAN],
            "accuracy": {c: a[c] for c in names},
            "error": errors,
            "mean_accuracy": _r(np.mean([a[c] for c in names])),
            "mean_error": _r(np.mean(list(errors.values()))),
            "ce": ce,
            "mce": _r(np.mean(ce_vals)) if ce_vals else None,
        }
        ref = _reference_of(p, paths, base)
        row["reference"] = (
            None
            if ref is None
            else _against(a, acc[str(ref)], names, margin, corruption_margin, ref)
        )
        rows.append(row)

    return {
        "schema": SCHEMA,
        "seed": seed,
        "images": int(len(images)),
        "threads": threads,
        "baseline": str(base),
        "margin": margin,
        "corruption_margin": corruption_margin,
        "corruptions": [
            {"name": c, "family": CORRUPTIONS[c].family, "description": CORRUPTIONS[c].description}
            for c in names
        ],
        "artifacts": rows,
        "flagged": [r["label"] for r in rows if (r["reference"] or {}).get("flagged")],
    }


def _against(
    acc: Dict[str, float],
    ref: Dict[str, float],
    names: List[str],
    margin: float,
    corruption_margin: float,
    ref_path: PathLike,
) -> Dict[str, Any]:
    """Drops of ``acc`` against its reference's accuracies, and whether to flag them."""
    clean_drop = _r(ref[CLEAN] - acc[CLEAN])
    drops = {c: _r(ref[c] - acc[c]) for c in names}
    mean_drop = _r(np.mean(list(drops.values())))
    worse = sorted(
        (c for c in names if drops[c] - clean_drop > corruption_margin),
        key=lambda c: -drops[c],
    )
    return {
        "path": str(ref_path),
        "clean_drop": clean_drop,
        "mean_corrupted_drop": mean_drop,
        "excess_drop": _r(mean_drop - clean_drop),
        "drops": drops,
        "worse_corruptions": worse,
        "flagged": bool(mean_drop - clean_drop > margin + 1e-9),
    }


def table_rows(report: Dict[str, Any]) -> List[List[str]]:
    """The report as rows of text: corruption, then accuracy per artifact (for CLI and README)."""
    from edgemnist.scoring import pct

    arts = report["artifacts"]
    rows = [["clean", *[pct(a["clean_accuracy"]) for a in arts]]]
    for c in report["corruptions"]:
        rows.append([c["name"], *[pct(a["accuracy"][c["name"]]) for a in arts]])
    rows.append(["mean corrupted", *[pct(a["mean_accuracy"]) for a in arts]])
    rows.append(["mean error (MNIST-C)", *[pct(a["mean_error"]) for a in arts]])
    rows.append(["mCE vs baseline (x100)", *[pct(a["mce"], 1) for a in arts]])
    return rows


def flag_lines(report: Dict[str, Any]) -> List[str]:
    """One line per artifact that has a reference: clean vs corrupted drop, flagged or not."""
    out = []
    for a in report["artifacts"]:
        ref = a["reference"]
        if not ref:
            continue
        verdict = "FLAGGED" if ref["flagged"] else "ok"
        line = (
            f"{a['label']}: {verdict}: accuracy drop clean {100 * ref['clean_drop']:+.2f} points, "
            f"mean corrupted {100 * ref['mean_corrupted_drop']:+.2f} points vs "
            f"{Path(ref['path']).name}"
        )
        if ref["worse_corruptions"]:
            shown = ", ".join(
                f"{c} {100 * ref['drops'][c]:+.2f}" for c in ref["worse_corruptions"][:5]
            )
            line += f"; worse on {shown}"
        out.append(line)
    return out


def write_plot(report: Dict[str, Any], path: PathLike) -> Optional[Path]:
    """Grouped bars: accuracy per corruption per artifact. None when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from edgemnist.atomic import atomic_path

    arts = report["artifacts"]
    names = [CLEAN] + [c["name"] for c in report["corruptions"]]
    y = np.arange(len(names))
    height = 0.8 / max(len(arts), 1)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) * max(1.0, len(arts) / 2.5) + 1.5))
    for k, a in enumerate(arts):
        vals = [100 * a["clean_accuracy"]] + [100 * a["accuracy"][n] for n in names[1:]]
        ax.barh(y + k * height, vals, height, label=a["label"])
    ax.set_yticks(y + height * (len(arts) - 1) / 2)
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlabel(f"accuracy % ({report['images']} test images each, seed {report['seed']})")
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    # above the axes: inside, it covered the last bars (the stroke corruptions)
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(arts), 3), fontsize=8,
        frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)
