"""`edgemnist eval`: accuracy, macro F1, per-class metrics, confusion matrix PNG, a 5x5 grid
of misclassified digits titled True/Pred, and the most-confused pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from edgemnist import atomic
from edgemnist.metrics import classification_report
from edgemnist.scoring import pct


def confusion_png(cm: np.ndarray, title: str, path: Path) -> Path:
    """Write the confusion matrix as an annotated heat map (log colour scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=110)
    im = ax.imshow(cm + 0.5, cmap="Blues", norm=LogNorm(vmin=0.5, vmax=cm.max() + 1))
    for t in range(10):
        for p in range(10):
            if cm[t, p]:
                color = "white" if t == p else "black"
                ax.text(p, t, str(cm[t, p]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def errors_png(images: np.ndarray, titles: list, path: Path, cols: int = 5) -> Path:
    """Write a grid of digits with a title above each (e.g. ``T:4 P:9``)."""
    from edgemnist.data.preview import grid_png

    atomic.write_bytes(path, grid_png(images, titles, cols=cols))
    return Path(path)


def evaluate_checkpoint(
    checkpoint: Path, out_dir: Optional[Path] = None, data_root: Optional[Path] = None
) -> Dict[str, Any]:
    """Evaluate ``checkpoint`` on the 10 000 test images and write the report files.

    Args:
        checkpoint: a model checkpoint.
        out_dir: where to write ``eval.json``, ``confusion.png``, ``errors.png``
            (default: ``<checkpoint dir>/eval``).
        data_root: MNIST directory (default ``EDGEMNIST_DATA``).

    Returns:
        The report (see :func:`edgemnist.metrics.classification_report`) plus file paths.
    """
    from edgemnist.data.mnist import load_split
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint
    from edgemnist.training.trainer import predict_logits

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    images, labels = load_split("test", data_root)
    logits = predict_logits(model, images)
    preds = logits.argmax(1)
    report = classification_report(labels, preds)
    out_dir = Path(out_dir) if out_dir else Path(checkpoint).parent / "eval"
    name = ckpt["model"]["name"]
    report["model"] = name
    report["checkpoint"] = str(checkpoint)
    cm = np.asarray(report["confusion_matrix"])
    report["confusion_png"] = str(
        confusion_png(
            cm, f"{name}: {pct(report['accuracy'])}% on MNIST test", out_dir / "confusion.png"
        )
    )
    wrong = np.flatnonzero(preds != labels)
    # The 25 most confident mistakes: the ones most worth looking at.
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    wrong = wrong[np.argsort(-probs[wrong, preds[wrong]])][:25]
    titles = [f"T:{labels[i]} P:{preds[i]}" for i in wrong]
    report["errors_png"] = str(errors_png(images[wrong], titles, out_dir / "errors.png"))
    report["report_json"] = str(out_dir / "eval.json")
    atomic.write_json(out_dir / "eval.json", report)
    return report
