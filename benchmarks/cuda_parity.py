"""Does a recipe trained on a CUDA GPU reach the accuracy it reaches on the CPU?

``train.device=cuda`` runs the same recipe with different kernels (cuDNN convolutions, another
summation order), so runs are not bit-identical to CPU runs, only statistically alike. This
script trains a recipe on the GPU for several seeds (one process per seed, side by side: the
models are small and augmentation runs on the CPU) and compares the test accuracies with the
CPU runs' checkpoints given by ``--cpu-runs``. The unit tests in
``tests/hardware/test_cuda_training.py`` check the mechanics (CPU-loadable checkpoints, exact
repeats, resume); this checks the outcome.

Usage (on a machine with a GPU; MNIST in EDGEMNIST_DATA):
    python benchmarks/cuda_parity.py vgg_bn --seeds 0 1 2 \\
        [--cpu-runs '/path/runs/vgg_bn-s*/model.pt'] [--out cuda-parity-vgg_bn.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def train_one(recipe: str, seed: int, threads: int, root: str) -> Dict[str, Any]:
    from edgemnist.training.trainer import train_recipe

    result = train_recipe(
        recipe,
        overrides=["train.device=cuda", f"train.seed={seed}"],
        threads=threads,
        run_dir=Path(root) / f"{recipe}-s{seed}",
        quiet=True,
    )
    m = result.metrics
    return {
        "seed": seed,
        "test_accuracy": m["test_accuracy"],
        "train_wall_s": m["train_wall_s"],
        "images_per_s_last_epoch": result.history[-1]["images_per_s"],
        "device": m["device"],
    }


def summarize(accs: List[float]) -> Dict[str, float]:
    """Mean and sample sd of test accuracies (fractions, as checkpoints keep them)."""
    return {
        "mean": round(statistics.mean(accs), 6),
        "sd": round(statistics.stdev(accs), 6) if len(accs) > 1 else 0.0,
        "n": len(accs),
    }


def cpu_accuracies(pattern: str) -> List[Dict[str, Any]]:
    from edgemnist.training.checkpoint import load_checkpoint

    rows = []
    for path in sorted(glob.glob(pattern)):
        m = load_checkpoint(Path(path))["metrics"]
        rows.append({"checkpoint": path, "seed": m["seed"], "test_accuracy": m["test_accuracy"]})
    return rows


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("recipe")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2, help="torch/OpenCV threads per process")
    ap.add_argument("--cpu-runs", default="", help="glob of CPU-trained model.pt to compare")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("cuda_parity: torch sees no CUDA GPU; run this on a GPU machine", file=sys.stderr)
        return 2
    # spawn: a forked child must not inherit the parent's CUDA state
    spawn = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as root, ProcessPoolExecutor(len(args.seeds), spawn) as ex:
        futs = [ex.submit(train_one, args.recipe, s, args.threads, root) for s in args.seeds]
        gpu = [f.result() for f in futs]
    report: Dict[str, Any] = {
        "recipe": args.recipe,
        "torch": torch.__version__,
        "gpu": gpu,
        "gpu_summary": summarize([r["test_accuracy"] for r in gpu]),
    }
    if args.cpu_runs:
        cpu = cpu_accuracies(args.cpu_runs)
        report["cpu"] = cpu
        if cpu:
            report["cpu_summary"] = summarize([r["test_accuracy"] for r in cpu])
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
