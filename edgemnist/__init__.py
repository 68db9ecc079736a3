"""edgemnist: handwritten-digit recognition from workstation to edge.

Host side (torch): data, models, training, export, quantization.
Device side (no torch): runners, engine builds, benchmarks, doctor, predict, camera.
"""

__version__ = "0.1.0"
