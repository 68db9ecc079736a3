"""How far do seeds and ensembles of trained checkpoints get on the MNIST test set?

For each checkpoint: test accuracy and its error set. Then, for every ensemble size k, the mean,
min and max accuracy over all k-subsets (the ensemble averages the models' softmax
probabilities), and the errors common to all models and in the union of their errors.

Answers one question with numbers: is a missed accuracy target seed luck (ensembles of the
same recipe clear it) or a ceiling of the model family and training budget (they do not).

Usage:
    .venv/bin/python benchmarks/ensemble_ceiling.py runs/vgg_bn-e20-s0/model.pt ... \
        [--json benchmarks/results/dev-epyc-2vcpu/ensemble-ceiling.json]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Dict, List

import numpy as np


def analyse(probs: Dict[str, np.ndarray], labels: np.ndarray) -> dict:
    """Single-model and ensemble accuracies (%) of ``probs`` ({name: (N, 10) probabilities})."""
    names = list(probs)
    errors = {n: set(np.flatnonzero(probs[n].argmax(axis=1) != labels).tolist()) for n in names}
    singles = {n: 100.0 * (1 - len(errors[n]) / len(labels)) for n in names}
    ensembles = []
    for k in range(2, len(names) + 1):
        accs = [
            100.0 * float(np.mean(sum(probs[n] for n in combo).argmax(axis=1) == labels))
            for combo in itertools.combinations(names, k)
        ]
        ensembles.append(
            {"k": k, "subsets": len(accs), "mean": float(np.mean(accs)), "min": min(accs),
             "max": max(accs)}
        )  # fmt: skip
    return {
        "test_images": int(len(labels)),
        "models": {n: {"accuracy": singles[n], "errors": len(errors[n])} for n in names},
        "ensembles": ensembles,
        "errors_common_to_all": len(set.intersection(*errors.values())),
        "errors_union": len(set.union(*errors.values())),
    }


def load_probs(paths: List[Path], images: np.ndarray) -> Dict[str, np.ndarray]:
    from edgemnist.predict import softmax
    from edgemnist.training.checkpoint import model_from_checkpoint
    from edgemnist.training.trainer import predict_logits

    out = {}
    for p in paths:
        name = p.parent.name if p.name == "model.pt" else p.stem
        out[name] = softmax(predict_logits(model_from_checkpoint(p), images))
    return out


def to_markdown(result: dict) -> str:
    lines = ["| models | accuracy % (mean) | min | max | subsets |", "|---|---:|---:|---:|---:|"]
    singles = [m["accuracy"] for m in result["models"].values()]
    lines.append(
        f"| 1 | {np.mean(singles):.3f} | {min(singles):.2f} | {max(singles):.2f} | {len(singles)} |"
    )
    for e in result["ensembles"]:
        lines.append(
            f"| {e['k']} | {e['mean']:.3f} | {e['min']:.2f} | {e['max']:.2f} | {e['subsets']} |"
        )
    lines.append(
        f"\nErrors common to all {len(singles)} models: {result['errors_common_to_all']}; "
        f"in any model: {result['errors_union']} (of {result['test_images']} test images)."
    )
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", type=Path, nargs="+", help="two or more model.pt files")
    ap.add_argument("--json", type=Path, help="also write the result here (atomically)")
    args = ap.parse_args(argv)
    if len(args.checkpoints) < 2:
        ap.error("give at least two checkpoints")

    import torch

    from edgemnist.atomic import write_json
    from edgemnist.data.mnist import load_split

    torch.set_num_threads(1)
    images, labels = load_split("test")
    result = analyse(load_probs(args.checkpoints, images), labels)
    result["checkpoints"] = [str(p) for p in args.checkpoints]
    print(to_markdown(result))
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
