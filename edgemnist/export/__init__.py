"""Host-side export: checkpoint -> ONNX, INT8 (ONNX Runtime QDQ, PyTorch eager), FP16, parity gate.

Modules (each one job; heavy imports stay inside functions):

- :mod:`edgemnist.export.onnx_export`: checkpoint -> self-contained FP32 ONNX (opset 13 default).
- :mod:`edgemnist.export.calibration`: the seeded, class-balanced calibration subset.
- :mod:`edgemnist.export.quantize_ort`: ONNX -> INT8 QDQ ONNX (ONNX Runtime static quantization).
- :mod:`edgemnist.export.fp16`: ONNX -> FP16 ONNX with FP32 inputs/outputs.
- :mod:`edgemnist.export.torch_int8`: checkpoint -> PyTorch INT8 (the only torch.ao user).
- :mod:`edgemnist.export.verify`: the parity gate and the flip gallery.
"""
