"""How well does ``edgemnist predict`` read photo-like digits? (acceptance: >= 99 %)

MNIST test digits are written out as photo-like PNG files: dark ink on light paper, resized to
60-300 px, placed at a random offset on a larger sheet with uneven light, lightly blurred and
noised, a third of them in color (tinted paper, blue or black ink). Each file then goes through
the real ``predict`` path (read file -> prepare_digit -> runner), and the accuracy is compared
with the same model on the raw 28x28 test digits.

Usage:
    python benchmarks/predict_photos.py engines/edge/model.onnx [--n 1000] [--seed 0]
        [--keep DIR] [--backend auto] [--json]

Device side: numpy, OpenCV and a runner; no torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np


def render_photo(digit: np.ndarray, rng: np.random.Generator, color: bool = False) -> np.ndarray:
    """One MNIST digit (28x28 uint8, white on black) -> a photo-like picture of it.

    Args:
        digit: the MNIST image.
        rng: the random source (everything random comes from it).
        color: return a BGR picture (tinted paper, blue/black ink) instead of gray.

    Returns:
        uint8 ``(H, W)`` or ``(H, W, 3)``, dark ink on light paper.
    """
    import cv2

    size = int(rng.integers(60, 301))
    coverage = cv2.resize(digit.astype(np.float32) / 255.0, (size, size), cv2.INTER_CUBIC)
    coverage = np.clip(coverage, 0.0, 1.0)
    H = int(size * rng.uniform(1.2, 2.2))
    W = int(size * rng.uniform(1.2, 2.2))
    oy, ox = int(rng.integers(0, H - size + 1)), int(rng.integers(0, W - size + 1))
    alpha = np.zeros((H, W), np.float32)
    alpha[oy : oy + size, ox : ox + size] = coverage

    # paper brightness falls off across the sheet (a lamp on one side)
    gy, gx = np.mgrid[0:H, 0:W].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * gx / W + np.sin(angle) * gy / H) - 0.5
    light = 1.0 + rng.uniform(0.0, 0.15) * ramp
    paper_level = rng.uniform(175, 245)
    ink_level = rng.uniform(10, 80)
    if color:
        tint = np.array([rng.uniform(0.85, 1.0), rng.uniform(0.93, 1.0), 1.0], np.float32)
        paper = paper_level * tint
        ink = (
            np.array([ink_level + 70, ink_level + 20, ink_level], np.float32)  # blue ballpoint
            if rng.random() < 0.5
            else np.full(3, ink_level, np.float32)
        )
        img = (paper[None, None, :] * light[..., None]) * (1 - alpha[..., None])
        img = img + ink[None, None, :] * alpha[..., None]
    else:
        img = paper_level * light * (1 - alpha) + ink_level * alpha
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    img = img + rng.normal(0.0, rng.uniform(2.0, 6.0), img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def write_photos(
    images: np.ndarray, out_dir: Path, seed: int = 0, color_fraction: float = 1 / 3
) -> List[Path]:
    """Render each 28x28 digit with :func:`render_photo` and save it as PNG in ``out_dir``."""
    import cv2

    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, digit in enumerate(images):
        picture = render_photo(digit, rng, color=bool(rng.random() < color_fraction))
        path = out_dir / f"digit-{i:05d}.png"
        if not cv2.imwrite(str(path), picture):
            raise OSError(f"could not write {path}")
        paths.append(path)
    return paths


def raw_predictions(artifact: Path, images: np.ndarray, **options: Any) -> np.ndarray:
    """The model's answers on the raw 28x28 digits (photo accuracy's ceiling)."""
    from edgemnist.constants import normalize
    from edgemnist.runners.open import open_runner

    with open_runner(artifact, **options) as runner:
        return np.asarray([int(runner.infer(normalize(img[None])).argmax()) for img in images])


def measure(
    artifact: Path,
    n: int = 1000,
    seed: int = 0,
    keep: Optional[Path] = None,
    backend: str = "auto",
) -> Dict[str, Any]:
    """Render ``n`` test digits, predict them from their files, report both accuracies."""
    from edgemnist.data.mnist import load_split
    from edgemnist.predict import predict_images

    images, labels = load_split("test")
    idx = np.random.default_rng([seed, 1]).choice(len(labels), size=n, replace=False)
    images, labels = images[idx], labels[idx]
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = keep or Path(tmp)
        paths = write_photos(images, out_dir, seed=seed)
        t0 = time.perf_counter()
        report = predict_images(artifact, paths, backend=backend)
        seconds = time.perf_counter() - t0
    got = np.asarray([-1 if p.digit is None else p.digit for p in report.predictions])
    raw = raw_predictions(artifact, images, backend=backend)
    wrong = [
        {"image": Path(p.image).name, "label": int(y), "predicted": p.digit, "error": p.error}
        for p, y in zip(report.predictions, labels)
        if p.digit != y
    ]
    return {
        "artifact": str(artifact),
        "n": n,
        "seed": seed,
        "photo_accuracy": float(np.mean(got == labels)),
        "raw_accuracy": float(np.mean(raw == labels)),
        "agreement_with_raw": float(np.mean(got == raw)),
        "failed_to_read": report.failed,
        "seconds_per_image": seconds / n,
        "runner": report.runner,
        "wrong": wrong,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the PNGs in this folder")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.artifact, args.n, args.seed, args.keep, args.backend)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['artifact']}: photo accuracy {result['photo_accuracy']:.2%} on "
            f"{result['n']} photo-like digits (raw digits: {result['raw_accuracy']:.2%}; same "
            f"answer as on the raw digit: {result['agreement_with_raw']:.2%}; "
            f"unreadable: {result['failed_to_read']}; "
            f"{result['seconds_per_image'] * 1e3:.1f} ms per image incl. reading)"
        )
        for w in result["wrong"][:20]:
            print(
                f"  {w['image']}: label {w['label']}, predicted {w['predicted']} {w['error'] or ''}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
