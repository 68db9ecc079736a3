"""Classify photos or scans of handwritten digits with any artifact (device side, no torch).

Each image goes through :func:`edgemnist.preprocess.prepare_digit` (MNIST's own preparation),
is normalized like the training data, and is run one at a time (engines may have batch 1).

Example:
    >>> from edgemnist.predict import predict_images
    >>> report = predict_images("engines/edge/model.onnx", ["seven.jpg"])  # doctest: +SKIP
    >>> report.predictions[0].digit  # doctest: +SKIP
    7
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from edgemnist.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from edgemnist.runners.base import Runner


@dataclass
class Prediction:
    """The answer for one image (``error`` set, and no digit, when it could not be read)."""

    image: str
    digit: Optional[int] = None
    confidence: Optional[float] = None
    #: the three most likely digits as ``[digit, probability]``, best first
    top3: List[Tuple[int, float]] = field(default_factory=list)
    preprocess: Dict[str, Any] = field(default_factory=dict)
    crop: Optional[str] = None
    error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class PredictReport:
    """All predictions plus the runner that made them (backend, provider, fallback reason)."""

    artifact: str
    runner: Dict[str, Any]
    predictions: List[Prediction]

    @property
    def failed(self) -> int:
        return sum(p.error is not None for p in self.predictions)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "artifact": self.artifact,
            "runner": self.runner,
            "predictions": [p.to_dict() for p in self.predictions],
        }


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, 10)`` logits, computed stably in float64."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def classify(runner: Runner, digit: np.ndarray) -> Tuple[int, float, List[Tuple[int, float]]]:
    """Run one prepared 28x28 uint8 digit; return ``(digit, confidence, top3)``.

    Args:
        runner: a loaded runner.
        digit: white-on-black 28x28 uint8 (output of ``prepare_digit``).
    """
    import numpy as np

    from edgemnist.constants import normalize

    if digit.shape != (28, 28):
        raise InputError(f"prepared digit has shape {digit.shape}, expected (28, 28)")
    probs = softmax(runner.infer(normalize(digit[None]).astype(np.float32)))[0]
    order = np.argsort(-probs)[:3]
    top3 = [(int(i), round(float(probs[i]), 6)) for i in order]
    return top3[0][0], top3[0][1], top3


def predict_images(
    artifact: Union[str, Path],
    images: Sequence[Union[str, Path]],
    backend: str = "auto",
    save_crops: Optional[Union[str, Path]] = None,
    **options: Any,
) -> PredictReport:
    """Classify image files with the model in ``artifact``.

    Args:
        artifact: ONNX model, engine or checkpoint (see :func:`edgemnist.runners.open.open_runner`).
        images: image files, each holding one digit.
        backend: ``"auto"`` or a backend name.
        save_crops: if set, write each prepared 28x28 digit there as PNG (to see what the model
            saw).
        **options: runner options (``threads``, ``providers``, ...).

    Returns:
        A report; an unreadable image or one without ink gets ``error`` set instead of a
        digit, and the others are still classified.

    Raises:
        ArtifactError, BackendUnavailable, ConfigError: the model cannot be opened.
    """
    from edgemnist.preprocess import load_image, prepare_digit
    from edgemnist.runners.open import open_runner

    crops_dir = Path(save_crops) if save_crops is not None else None
    used_names: set = set()
    predictions: List[Prediction] = []
    with open_runner(artifact, backend=backend, **options) as runner:
        for image in images:
            pred = Prediction(image=str(image))
            try:
                digit, info = prepare_digit(load_image(image))
            except InputError as exc:
                msg = str(exc)  # the report already names the image: drop a "path: " prefix
                pred.error = msg[len(f"{image}: ") :] if msg.startswith(f"{image}: ") else msg
                predictions.append(pred)
                continue
            pred.digit, pred.confidence, pred.top3 = classify(runner, digit)
            pred.preprocess = info
            if crops_dir is not None:
                pred.crop = str(_save_crop(crops_dir, Path(image), digit, used_names))
            predictions.append(pred)
        runner_info = dict(runner.info)
    return PredictReport(artifact=str(artifact), runner=runner_info, predictions=predictions)


def _save_crop(directory: Path, image: Path, digit: np.ndarray, used: set) -> Path:
    """Write ``digit`` as ``<stem>.crop.png`` (``<stem>-2.crop.png`` on a name clash)."""
    import cv2

    from edgemnist.atomic import write_bytes

    stem, n = image.stem, 1
    name = f"{stem}.crop.png"
    while name in used:
        n += 1
        name = f"{stem}-{n}.crop.png"
    used.add(name)
    ok, buf = cv2.imencode(".png", digit)
    if not ok:
        raise InputError(f"could not encode the crop of {image} as PNG")
    return write_bytes(directory / name, buf.tobytes())
