"""PyTorch INT8 through PT2E (torchao): PTQ and QAT on a tiny LeNet-5, no DeprecationWarning from
our calls, the same parity gate, and a file the torch runner loads back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

# Importing torchao makes torch itself warn (``torch.jit.script_method`` used by torch's own
# modules): not our code, so it is imported here, once, before the strict filter of the tests.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("torchao.quantization.pt2e.quantize_pt2e")
    pytest.importorskip("torchao.quantization.pt2e.quantizer.x86_inductor_quantizer")


def _strict_export(tiny_checkpoint, tmp_path, **kw):
    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        options = TorchInt8Options(
            api="pt2e", calib_size=200, threads=1, limit=500, threshold=1.0, **kw
        )
        return export_torch_int8(tiny_checkpoint, tmp_path / "model.torch-int8.pt", options)


def test_pt2e_ptq_passes_the_gate_without_deprecation_warnings(
    tiny_checkpoint, mnist_env, tmp_path
):
    from edgemnist.data.mnist import load_test_set
    from edgemnist.export.torch_int8 import is_export_archive
    from edgemnist.export.verify import artifact_logits

    res = _strict_export(tiny_checkpoint, tmp_path)
    assert res.report.passed and res.report.images == 500
    q = res.manifest["quantization"]
    assert q["api"] == "pt2e" and q["mode"] == "ptq" and q["storage"] == "torch.export"
    assert is_export_archive(res.path)
    # the runner reads the archive back (content decides, not the name): same accuracy
    images, labels = load_test_set(500)
    logits = artifact_logits(res.path, images, threads=1)
    assert np.mean(logits.argmax(1) == labels) == pytest.approx(res.report.accuracy, abs=1e-6)


def test_pt2e_qat(tiny_checkpoint, mnist_env, tmp_path):
    res = _strict_export(tiny_checkpoint, tmp_path, qat_epochs=1, qat_limit=1000)
    q = res.manifest["quantization"]
    assert q["mode"] == "qat" and q["qat_epochs"] == 1
    assert res.report.passed


def test_unknown_api_says_what_to_choose(tiny_checkpoint):
    from edgemnist.errors import ConfigError
    from edgemnist.export.torch_int8 import choose_api

    with pytest.raises(ConfigError, match="pt2e, eager"):
        choose_api("fx")
    assert choose_api("pt2e") == "pt2e"
