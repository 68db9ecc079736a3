"""Engine building on the device: GPU facts, precision planner, cache, TensorRT/trtexec
builders and the ONNX Runtime fallback (``edgemnist build-engine``).

Device-safe: importing this package imports no torch, tensorrt or onnxruntime.
"""
