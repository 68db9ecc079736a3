"""Export-side checks that need no data set and train nothing (the rest of the export tests,
which train a tiny model, are in tests/integration/test_export.py)."""

from __future__ import annotations

import numpy as np
import pytest

from edgemnist.cli.main import main
from edgemnist.errors import ConfigError


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:"), err
    assert len(err.splitlines()) == 1, err
    return err


def test_corrupt_checkpoint_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a checkpoint")
    assert main(["export", str(bad)]) == 1
    _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_exporter_choice():
    from edgemnist.export.onnx_export import exporter_for

    assert exporter_for(13) == "torchscript"
    assert exporter_for(17) == "torchscript"
    assert exporter_for(18) == "dynamo"
    with pytest.raises(ConfigError):
        exporter_for(8)


# -- calibration subset (pure numpy) ---------------------------------------------------------
def test_calibration_subset_is_balanced_seeded_and_hashed():
    from edgemnist.export.calibration import balanced_indices, indices_sha256

    labels = np.random.default_rng(3).integers(0, 10, size=6000).astype(np.uint8)
    a = balanced_indices(labels, 1000, seed=0)
    assert len(a) == 1000 and len(set(a.tolist())) == 1000
    assert np.bincount(labels[a], minlength=10).tolist() == [100] * 10
    assert np.array_equal(a, balanced_indices(labels, 1000, seed=0))
    b = balanced_indices(labels, 1000, seed=1)
    assert not np.array_equal(a, b)
    assert indices_sha256(a) == indices_sha256(a.astype(np.int32))
    assert indices_sha256(a) != indices_sha256(b)
    odd = balanced_indices(labels, 25, seed=0)
    assert np.bincount(labels[odd], minlength=10).tolist() == [3] * 5 + [2] * 5
    with pytest.raises(ConfigError):
        balanced_indices(labels, 5)
    with pytest.raises(ConfigError):
        balanced_indices(np.zeros(100, np.uint8), 50)  # classes 1..9 are missing


def test_compare_counts_flips_and_gates():
    from edgemnist.export.verify import parity_report as compare

    labels = np.arange(10) % 10
    ref = np.eye(10, dtype=np.float32)[labels] * 5
    same = compare(ref.copy(), labels, ref, threshold=0.1)
    assert (same.accuracy, same.agreement, same.max_abs_dlogit, same.passed) == (
        1.0,
        1.0,
        0.0,
        True,
    )
    worse = ref.copy()
    worse[4] = np.eye(10)[9] * 5
    rep = compare(worse, labels, ref, threshold=0.1)
    assert rep.flips == [4] and rep.agreement == 0.9
    assert rep.accuracy_drop == pytest.approx(0.1) and not rep.passed
    assert compare(worse, labels, ref, threshold=10.0).passed
