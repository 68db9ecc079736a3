"""Tiny real training runs on a class-balanced MNIST subset (seconds, one thread)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from edgemnist.cli.main import main  # noqa: E402

pytestmark = pytest.mark.integration

TINY = ["--limit", "1000", "--threads", "1", "--quiet", "--set", "train.batch_size=32"]


def _run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_writes_checkpoint_metrics_and_learns(mnist_env, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = _run(
        capsys, "train", "lenet5", "--epochs", "2", "--out-dir", str(out), "--json", *TINY
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["test_accuracy"] > 0.5  # 1000 images, 2 epochs: far above chance (10 %)
    for name in ("model.pt", "last.pt", "metrics.json", "metrics.csv", "recipe.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("epoch,train_loss")


def test_checkpoint_rebuilds_model_with_weights_only(mnist_env, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(capsys, "train", "edge", "--epochs", "1", "--out-dir", str(out), *TINY)[0] == 0
    raw = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert raw["model"]["name"] == "edge" and "train_state" not in raw
    assert raw["metrics"]["params"] < 20_000 and "torch" in raw["versions"]

    from edgemnist.training.checkpoint import model_from_checkpoint

    model = model_from_checkpoint(out / "model.pt")  # no recipe needed
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_resume_continues_exactly_where_it_stopped(mnist_env, tmp_path, capsys, interrupt):
    from edgemnist.training.trainer import train_recipe

    common = dict(
        overrides=["data.augment=true", "train.batch_size=32"],
        limit=1000,
        epochs=2,
        threads=1,
        quiet=True,
    )
    straight = train_recipe("lenet5", run_dir=tmp_path / "straight", **common)

    Interrupted, stop_after_epoch = interrupt

    partial = tmp_path / "partial"
    with pytest.raises(Interrupted):
        train_recipe("lenet5", run_dir=partial, on_epoch=stop_after_epoch, **common)
    assert not (partial / "model.pt").exists()  # only the resumable last.pt
    code, _, _ = _run(
        capsys,
        "train",
        "lenet5",
        "--resume",
        str(partial),
        "--epochs",
        "2",
        "--set",
        "data.augment=true",
        *TINY,
    )
    assert code == 0
    history = json.loads((partial / "metrics.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]  # epoch 1 kept, epoch 2 run once
    a = torch.load(straight.checkpoint, weights_only=True)["state_dict"]
    b = torch.load(partial / "model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical to the uninterrupted run


def test_eval_writes_report_and_pngs(mnist_env, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(capsys, "train", "lenet5", "--epochs", "1", "--out-dir", str(out), *TINY)[0] == 0
    code, stdout, _ = _run(capsys, "eval", str(out / "model.pt"), "--json")
    assert code == 0
    report = json.loads(stdout)
    assert report["n"] == 10000 and 0 < report["accuracy"] <= 1.0  # a fraction
    assert len(report["per_class"]) == 10
    for key in ("confusion_png", "errors_png"):
        with open(report[key], "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_dry_run_writes_nothing(mnist_env, tmp_path, capsys):
    out = tmp_path / "dry"
    code, stdout, _ = _run(capsys, "train", "edge", "--dry-run", "--out-dir", str(out), *TINY)
    assert code == 0 and "dry run ok" in stdout
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "edge", "--set", "train.lrr=1"], "unknown recipe key train.lrr"),
        (["train", "no-such-recipe"], "recipe 'no-such-recipe' not found"),
        (["eval", "missing.pt"], "not found"),
    ],
)
def test_errors_are_one_line_and_exit_1(mnist_env, tmp_path, capsys, args, message):
    code, stdout, stderr = _run(capsys, *args)
    assert code == 1
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_unreadable_checkpoint(mnist_env, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    code, _, stderr = _run(capsys, "eval", str(bad))
    assert code == 1 and "cannot read checkpoint" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_train_fetches_and_verifies_missing_mnist(mnist_dir, tmp_path, monkeypatch, capsys):
    """A fresh machine: ``train`` fetches MNIST itself (here from a local mirror, as the
    canonical mirrors are not reachable from tests) instead of stopping at "download it"."""
    from edgemnist.data import mnist

    empty = tmp_path / "empty"
    monkeypatch.setenv("EDGEMNIST_DATA", str(empty))
    monkeypatch.setattr(mnist, "MIRRORS", [str(mnist_dir)])
    code, _, stderr = _run(capsys, "train", "lenet5", "--dry-run", *TINY)
    assert code == 0, stderr
    assert mnist.missing_files(empty) == []
    mnist.load_split("test", empty)  # verified by checksum

    # no mirror can deliver it: one line naming what failed and what to do
    monkeypatch.setenv("EDGEMNIST_DATA", str(tmp_path / "empty-2"))
    monkeypatch.setattr(mnist, "MIRRORS", [str(tmp_path / "gone")])
    code, _, stderr = _run(capsys, "train", "lenet5", "--dry-run", *TINY)
    assert code == 1 and "could not get" in stderr and "--mirror" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_device_without_a_gpu_is_a_one_line_error(mnist_env, capsys):
    code, _, stderr = _run(capsys, "train", "edge", "--set", "train.device=cuda", *TINY)
    assert code == 1 and "train.device=cuda but" in stderr and "train.device=cpu" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_unknown_device_is_refused(mnist_env, capsys):
    code, _, stderr = _run(capsys, "train", "edge", "--set", "train.device=gpu", *TINY)
    assert code == 1 and "train.device" in stderr and "cuda" in stderr


def test_auto_device_trains_on_what_is_there(mnist_env, tmp_path):
    from edgemnist.training.trainer import train_recipe

    result = train_recipe(
        "lenet5", overrides=["train.device=auto"], limit=300, epochs=1, threads=1, quiet=True,
        run_dir=tmp_path / "auto",
    )  # fmt: skip
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert result.metrics["device"].split(":")[0] == expected


@pytest.mark.parametrize("mode", ["online", "cached"])
def test_distillation_trains_and_records_its_teacher(mnist_env, tiny_checkpoint, tmp_path, mode):
    from edgemnist.atomic import sha256_file
    from edgemnist.training.trainer import train_recipe

    sets = [
        f"train.distill_from={json.dumps(str(tiny_checkpoint))}",
        "train.distill_temperature=1.0",  # T = 4 learns too slowly for a 2-epoch, 1000-image run
        "train.batch_size=32",
        f"train.distill_mode={mode}",
    ]
    result = train_recipe(
        "lenet5", overrides=sets, limit=1000, epochs=2, threads=1, quiet=True,
        run_dir=tmp_path / "kd",
    )  # fmt: skip
    teacher = result.metrics["teacher"]
    assert teacher["model"] == "lenet5" and teacher["sha256"] == sha256_file(tiny_checkpoint)
    assert teacher["mode"] == mode
    assert result.history[-1]["test_acc"] > 0.5  # 1000 images, 2 epochs: far above chance
    saved = torch.load(result.checkpoint, weights_only=True)
    assert saved["recipe"]["train"]["distill_from"] == str(tiny_checkpoint)


def test_distillation_with_alpha_zero_is_plain_training(mnist_env, tiny_checkpoint, tmp_path):
    from edgemnist.training.trainer import train_recipe

    common = dict(limit=500, epochs=1, threads=1, quiet=True)
    plain = train_recipe("lenet5", run_dir=tmp_path / "a", **common)
    kd = train_recipe(
        "lenet5",
        overrides=[
            f"train.distill_from={json.dumps(str(tiny_checkpoint))}",
            "train.distill_alpha=0",
        ],
        run_dir=tmp_path / "b",
        **common,
    )
    a = torch.load(plain.checkpoint, weights_only=True)["state_dict"]
    b = torch.load(kd.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_missing_teacher_is_a_one_line_error_before_training(mnist_env, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, stderr = _run(
        capsys, "train", "edge", "--out-dir", str(out), "--set",
        f"train.distill_from={json.dumps(str(tmp_path / 'nope.pt'))}", *TINY,
    )  # fmt: skip
    assert code == 1 and "distill_from" in stderr and "not found" in stderr
    assert len(stderr.strip().splitlines()) == 1 and not out.exists()


def test_clean_last_epochs_train_on_the_original_images(mnist_env, tmp_path):
    """A clean epoch is an unaugmented epoch, bit for bit (and augmentation does change it)."""
    from edgemnist.training.trainer import train_recipe

    common = dict(limit=400, threads=1, quiet=True)
    aug = ["data.augment=true", "train.schedule=none"]

    def weights(run, **kw):
        r = train_recipe("lenet5", run_dir=tmp_path / run, **common, **kw)
        return torch.load(r.checkpoint, weights_only=True)["state_dict"]

    clean_all = weights("a", overrides=aug + ["data.clean_last_epochs=1"], epochs=1)
    plain = weights("b", overrides=["data.augment=false", "train.schedule=none"], epochs=1)
    augmented = weights("c", overrides=aug, epochs=1)
    assert all(torch.equal(clean_all[k], plain[k]) for k in plain)
    assert not all(torch.equal(augmented[k], plain[k]) for k in plain)


def test_clean_last_epochs_beyond_the_run_is_refused(mnist_env, capsys):
    code, _, stderr = _run(capsys, "train", "edge", "--set", "data.clean_last_epochs=99", *TINY)
    assert code == 1 and "data.clean_last_epochs must be in [0, train.epochs]" in stderr
