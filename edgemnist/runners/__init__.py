"""Inference runners: one protocol (:class:`~edgemnist.runners.base.Runner`), many backends.

Device-safe: importing this package imports no torch, tensorrt, onnxruntime or cv2.
"""
