"""Facts about MNIST used everywhere; defined once."""

from __future__ import annotations

#: Mean and standard deviation of MNIST training pixels scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

NUM_CLASSES = 10
IMAGE_SIZE = 28
#: Input layout every model and runner uses: (N, C, H, W) float32, normalized.
INPUT_SHAPE = (1, IMAGE_SIZE, IMAGE_SIZE)
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def normalize(images_u8):  # type: ignore[no-untyped-def]
    """uint8 images (N, 28, 28) or (N, 1, 28, 28) -> float32 (N, 1, 28, 28), normalized.

    Works on numpy arrays (device side, no torch).
    """
    import numpy as np

    x = np.asarray(images_u8, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None, :, :]
    return ((x / 255.0) - MNIST_MEAN) / MNIST_STD
