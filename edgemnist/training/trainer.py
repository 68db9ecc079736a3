"""The training loop: recipe -> run directory with checkpoints and metrics.

Run directory (``runs/<recipe>-s<seed>/`` by default)::

    recipe.toml.json   the resolved recipe
    last.pt            resumable checkpoint (model + optimizer + scheduler + RNG), each epoch
    model.pt           final checkpoint (no optimizer state): what export and eval read
    metrics.json/.csv  one row per epoch: loss, train/test accuracy, lr, images/s, seconds

Determinism: the shuffling and augmentation of epoch ``e`` are drawn from
``numpy.random.default_rng([seed, e])``, so an interrupted run resumed from ``last.pt`` sees
exactly the batches it would have seen; torch's RNG state (dropout) is saved too.
"""

from __future__ import annotations

import csv
import io
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from edgemnist import atomic
from edgemnist.constants import MNIST_MEAN, MNIST_STD
from edgemnist.errors import CheckpointError, ConfigError
from edgemnist.scoring import pct, score_predictions
from edgemnist.training.recipe import (
    DataSection,
    Recipe,
    TrainSection,
    load_recipe,
    model_args,
    recipe_name,
)

AUGMENT_KEYS = (
    "rotation",
    "scale",
    "translate",
    "elastic_alpha",
    "elastic_sigma",
    "elastic_p",
    "noise_std",
)


@dataclass
class TrainResult:
    """What a finished run left behind."""

    run_dir: Path
    checkpoint: Path
    metrics: Dict[str, Any]
    history: List[Dict[str, Any]] = field(default_factory=list)


def subset_indices(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """A seeded, class-balanced subset of ``limit`` indices (all indices when limit is 0)."""
    if not limit or limit >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng([seed, 7919])
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(10)]
    take = [p[: limit // 10 + (1 if c < limit % 10 else 0)] for c, p in enumerate(per_class)]
    return np.sort(np.concatenate(take))


def _to_tensor(images_u8: np.ndarray) -> Any:
    """uint8 (N,28,28) -> normalized float32 tensor (N,1,28,28)."""
    import torch

    x = torch.from_numpy(np.array(images_u8, dtype=np.uint8, copy=True)).to(torch.float32)
    return ((x / 255.0 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)


def _make_augmenter(data: DataSection, seed: int) -> Optional[Callable[..., np.ndarray]]:
    if not data.augment:
        return None
    import cv2

    from edgemnist.data.augment import AugmentConfig, Augmenter

    # OpenCV would otherwise spread remap over all cores and fight torch's threads.
    cv2.setNumThreads(1)
    cfg = AugmentConfig.from_dict({k: getattr(data, k) for k in AUGMENT_KEYS})
    return Augmenter(cfg, seed=seed)


def _batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    epoch: int,
    augment_cfg: Optional[DataSection],
) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """Shuffled (and augmented) uint8 batches of one epoch, prepared in a background thread.

    OpenCV releases the GIL, so augmentation of batch k+1 overlaps the training step of batch k.
    """
    order = np.random.default_rng([seed, epoch]).permutation(len(labels))
    augmenter = _make_augmenter(augment_cfg, seed * 100003 + epoch) if augment_cfg else None
    q: queue.Queue[Any] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce() -> None:
        try:
            for start in range(0, len(order), batch_size):
                if stop.is_set():
                    return
                idx = order[start : start + batch_size]
                xb = images[idx]
                if augmenter is not None:
                    xb = augmenter(xb)
                q.put((xb, labels[idx]))
            q.put(None)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the consumer)
            q.put(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # drain so the producer can exit
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def predict_logits(
    model: Any, images_u8: np.ndarray, batch_size: int = 1000, device: Any = "cpu"
) -> np.ndarray:
    """Logits (N, 10) of ``model`` (eval mode, already on ``device``) on uint8 images."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(images_u8), batch_size):
            x = _to_tensor(images_u8[s : s + batch_size]).to(device)
            out.append(model(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


def _make_optimizer(model: Any, train: TrainSection) -> Any:
    import torch

    # No weight decay on BatchNorm and biases: decaying them only fights the normalisation.
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": train.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if train.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=train.lr)
    return torch.optim.SGD(groups, lr=train.lr, momentum=train.momentum, nesterov=train.nesterov)


def _make_scheduler(optimizer: Any, train: TrainSection, steps_per_epoch: int) -> Any:
    import torch

    total = train.epochs * steps_per_epoch
    if train.schedule == "onecycle":
        # OneCycleLR divides by each phase's length in steps: with a handful of steps (tiny
        # --limit runs) the warm-up phase would be empty. Give each phase at least two steps.
        pct_start = min(max(train.pct_start, 2.0 / max(total, 1)), 1.0 - 2.0 / max(total, 1))
        if total < 5:
            return None  # too few steps for a schedule: constant lr
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=train.lr,
            total_steps=total,
            pct_start=pct_start,
            div_factor=train.div_factor,
            final_div_factor=train.final_div_factor,
        )
    if train.schedule == "cosine":
        t_max = (train.t_max or train.epochs) * steps_per_epoch
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=t_max, eta_min=train.eta_min
        )
    return None


def _rng_state() -> Dict[str, Any]:
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def resolve_device(name: str, deterministic: bool = True) -> Any:
    """``train.device`` -> a ``torch.device``; ``cuda`` without a usable GPU is a ConfigError.

    Deterministic CUDA training needs cuBLAS's fixed workspace (``CUBLAS_WORKSPACE_CONFIG``);
    it is set here, before the first CUDA call, unless the user set it already.
    """
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            built = getattr(torch.version, "cuda", None)
            why = "this torch is a CPU build" if not built else "torch sees no CUDA device"
            raise ConfigError(
                f"train.device=cuda but {why} (torch {torch.__version__}): "
                "use --set train.device=cpu, or install a CUDA torch build on a GPU machine"
            )
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
    return torch.device(name)


def _load_teacher(path: str, device: Any) -> Tuple[Any, Dict[str, Any]]:
    """The distillation teacher (eval mode, frozen, on ``device``) and what to record about it.

    Returns ``(None, {})`` when ``path`` is empty. An unreadable or missing checkpoint is a
    one-line CheckpointError before any training starts.
    """
    if not path:
        return None, {}
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint

    p = Path(path).expanduser()
    if not p.is_file():
        raise CheckpointError(
            f"train.distill_from: {p} not found: train the teacher first "
            '(e.g. edgemnist train vgg_bn-fast) or set train.distill_from=""'
        )
    ckpt = load_checkpoint(p)
    teacher = model_from_checkpoint(ckpt).to(device)
    for param in teacher.parameters():
        param.requires_grad_(False)
    info = {
        "checkpoint": str(path),
        "sha256": atomic.sha256_file(p),
        "model": ckpt["model"]["name"],
        "test_accuracy": ckpt.get("metrics", {}).get("test_accuracy"),
    }
    return teacher, info


def _device_name(device: Any) -> str:
    """``cpu`` or the GPU's name (``cuda: NVIDIA H100 80GB HBM3``) for the checkpoint metrics."""
    import torch

    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return "cpu"


def _write_metrics(run_dir: Path, history: List[Dict[str, Any]]) -> None:
    atomic.write_json(run_dir / "metrics.json", history)
    buf = io.StringIO()
    if history:
        writer = csv.DictWriter(buf, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    atomic.write_text(run_dir / "metrics.csv", buf.getvalue())


@dataclass
class _Session:
    """Everything one training run works with, built by :func:`_setup`."""

    model: Any
    optimizer: Any
    scheduler: Any
    loss_fn: Callable[..., Any]
    device: Any
    memory_format: Any
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    args: Dict[str, Any]  # the model's full constructor arguments (what checkpoints keep)
    stats: Dict[str, Any]  # params, MACs
    teacher_info: Dict[str, Any]
    steps_per_epoch: int

    @property
    def positions(self) -> np.ndarray:
        """Batches carry indices: labels and cached teacher logits are looked up by them."""
        return np.arange(len(self.train_y))


def train(
    recipe: Recipe,
    run_dir: Optional[Path] = None,
    resume: Optional[Path] = None,
    threads: Optional[int] = None,
    quiet: bool = False,
    dry_run: bool = False,
    on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None,
    data_root: Optional[Path] = None,
) -> TrainResult:
    """Train the recipe's model; evaluate on the test set each epoch; write checkpoints.

    Args:
        recipe: a resolved recipe (:func:`edgemnist.training.recipe.load_recipe`).
        run_dir: output directory (default ``runs/<recipe>-s<seed>``).
        resume: a run directory or ``last.pt`` to continue from.
        threads: torch intra-op threads (overrides ``train.threads``).
        quiet: no progress bar.
        dry_run: build everything, run one batch forward/backward, write nothing.
        on_epoch: called with each epoch's metrics row.
        data_root: MNIST directory (default ``EDGEMNIST_DATA``).

    Returns:
        A :class:`TrainResult` (for a dry run, ``checkpoint`` does not exist).
    """
    import torch

    from edgemnist.paths import runs_dir
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    tr = recipe.train
    run = _setup(recipe, threads, quiet, data_root)
    run_dir = Path(run_dir) if run_dir else runs_dir() / f"{recipe_name(recipe)}-s{tr.seed}"
    start_epoch = 0
    history: List[Dict[str, Any]] = []
    if resume:
        start_epoch, history, run_dir = _resume(Path(resume), recipe, run)
    if dry_run:
        return _dry_run(run, recipe, run_dir)

    run_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(run_dir / "recipe.json", recipe.to_dict())
    t_start = time.perf_counter() - (history[-1]["wall_s"] if history else 0.0)
    test_acc = history[-1]["test_acc"] if history else float("nan")
    with _Progress(quiet, tr.epochs, run.steps_per_epoch, start_epoch) as progress:
        for epoch in range(start_epoch, tr.epochs):
            row = _train_epoch(run, recipe, epoch, progress)
            if epoch == tr.epochs - 1 or (epoch + 1) % max(1, tr.eval_every) == 0:
                logits = predict_logits(run.model, run.test_x, recipe.eval.batch_size, run.device)
                test_acc = score_predictions(logits.argmax(1), run.test_y).accuracy
            row.update(
                test_acc=test_acc,
                lr=run.optimizer.param_groups[0]["lr"],
                wall_s=round(time.perf_counter() - t_start, 2),
            )
            history.append(row)
            progress.epoch_done(row)
            _save_last(run, recipe, run_dir, epoch, history)
            if on_epoch:  # after the checkpoint: a callback that raises leaves a resumable run
                on_epoch(row)

    metrics = {
        "test_accuracy": history[-1]["test_acc"],
        "epochs": len(history),
        "train_wall_s": history[-1]["wall_s"],
        "seed": tr.seed,
        "threads": torch.get_num_threads(),
        "device": _device_name(run.device),
        **run.stats,
        **({"teacher": run.teacher_info} if run.teacher_info else {}),
    }
    final = save_checkpoint(
        make_checkpoint(run.model, recipe.model.name, run.args, recipe.to_dict(), metrics),
        run_dir / "model.pt",
    )
    return TrainResult(run_dir, final, metrics, history)


def _setup(
    recipe: Recipe, threads: Optional[int], quiet: bool, data_root: Optional[Path]
) -> _Session:
    """Threads, seed and determinism; the data (fetched when missing); model, loss (with
    distillation), optimizer and schedule."""
    import torch

    from edgemnist.data.mnist import ensure, load_split
    from edgemnist.models import build_model, full_args
    from edgemnist.models.stats import summary

    tr, data = recipe.train, recipe.data
    n_threads = threads or tr.threads
    if n_threads:
        torch.set_num_threads(int(n_threads))
    torch.manual_seed(tr.seed)
    if tr.deterministic:
        torch.use_deterministic_algorithms(True)
    device = resolve_device(tr.device, tr.deterministic)

    # a fresh machine fetches (and verifies) MNIST here instead of stopping at "download it"
    ensure(data_root, on_event=None if quiet else lambda msg: print(msg, file=sys.stderr))
    train_x, train_y = load_split("train", data_root)
    test_x, test_y = load_split("test", data_root)
    tr_idx = subset_indices(train_y, data.limit, tr.seed)
    te_idx = subset_indices(test_y, data.test_limit, tr.seed)
    train_x, train_y = train_x[tr_idx], train_y[tr_idx].astype(np.int64)
    test_x, test_y = test_x[te_idx], test_y[te_idx].astype(np.int64)

    model = build_model(recipe.model.name, **model_args(recipe))
    args = full_args(recipe.model.name, model_args(recipe))
    stats = summary(model)
    memory_format = torch.channels_last if tr.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    loss_fn, teacher_info = _loss(tr, device, train_x)
    optimizer = _make_optimizer(model, tr)
    steps_per_epoch = (len(train_y) + tr.batch_size - 1) // tr.batch_size
    return _Session(
        model=model,
        optimizer=optimizer,
        scheduler=_make_scheduler(optimizer, tr, steps_per_epoch),
        loss_fn=loss_fn,
        device=device,
        memory_format=memory_format,
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        test_y=test_y,
        args=args,
        stats=stats,
        teacher_info=teacher_info,
        steps_per_epoch=steps_per_epoch,
    )


def _loss(
    tr: TrainSection, device: Any, train_x: np.ndarray
) -> Tuple[Callable[..., Any], Dict[str, Any]]:
    """The task loss, mixed with distillation from ``train.distill_from`` when set:
    ``loss_fn(logits, y, x, idx)`` and what the teacher was."""
    import torch

    from edgemnist.training.losses import distillation_loss, make_loss

    task_loss = make_loss(tr)
    teacher, teacher_info = _load_teacher(tr.distill_from, device)
    alpha, temperature = tr.distill_alpha, tr.distill_temperature
    cached = None
    if teacher is not None and tr.distill_mode == "cached":
        # one pass over the clean training images; the teacher is not needed after it
        cached = torch.from_numpy(predict_logits(teacher, train_x, 1000, device)).to(device)
        teacher_info["mode"] = "cached"
        teacher = None
    elif teacher is not None:
        teacher_info["mode"] = "online"

    def loss_fn(logits: Any, y: Any, x: Any, idx: Any) -> Any:
        loss = task_loss(logits, y)
        if teacher is None and cached is None:
            return loss
        if cached is not None:
            soft = cached[idx]
        else:
            with torch.no_grad():
                soft = teacher(x)
        return (1.0 - alpha) * loss + alpha * distillation_loss(logits, soft, temperature)

    return loss_fn, teacher_info


def _resume(resume: Path, recipe: Recipe, run: _Session) -> Tuple[int, List[Dict[str, Any]], Path]:
    """Load model, optimizer, schedule and RNG state from ``last.pt``; returns the epoch to
    start from, the history so far and the run directory."""
    import torch

    from edgemnist.training.checkpoint import load_checkpoint

    state_path = resume / "last.pt" if resume.is_dir() else resume
    ckpt = load_checkpoint(state_path)
    if "train_state" not in ckpt:
        raise CheckpointError(f"{state_path} holds no training state: resume from last.pt")
    if ckpt["model"]["name"] != recipe.model.name:
        raise CheckpointError(
            f"{state_path} is a {ckpt['model']['name']} checkpoint, the recipe trains "
            f"{recipe.model.name}"
        )
    run.model.load_state_dict(ckpt["state_dict"])
    ts = ckpt["train_state"]
    run.optimizer.load_state_dict(ts["optimizer"])
    if run.scheduler is not None and ts.get("scheduler"):
        run.scheduler.load_state_dict(ts["scheduler"])
    torch.set_rng_state(ts["rng"]["torch"])
    if run.device.type == "cuda" and "cuda" in ts["rng"]:
        torch.cuda.set_rng_state(ts["rng"]["cuda"])
    start_epoch = int(ts["epoch"])
    if start_epoch >= recipe.train.epochs:
        raise ConfigError(
            f"{state_path} already finished {start_epoch} epochs; raise train.epochs to go on"
        )
    return (
        start_epoch,
        list(ts.get("history", [])),
        resume if resume.is_dir() else state_path.parent,
    )


def _dry_run(run: _Session, recipe: Recipe, run_dir: Path) -> TrainResult:
    """One batch forward and backward (the first batch of epoch 0, augmented as training would
    see it); nothing written."""
    import torch

    tr = recipe.train
    augment = recipe.data if recipe.data.augment else None
    batches = _batches(run.train_x, run.positions, tr.batch_size, tr.seed, 0, augment)
    xb, ib = next(batches)
    run.model.train()
    x = _to_tensor(xb).to(run.device)
    y, ib_t = torch.from_numpy(run.train_y[ib]).to(run.device), torch.from_numpy(ib).to(run.device)
    loss = run.loss_fn(run.model(x), y, x, ib_t)
    loss.backward()
    return TrainResult(
        run_dir, run_dir / "model.pt", {"dry_run": True, "loss": float(loss.detach()), **run.stats}
    )


def _train_epoch(run: _Session, recipe: Recipe, epoch: int, progress: Any) -> Dict[str, Any]:
    """One pass over the training images; the epoch's row (test accuracy added by the caller)."""
    import torch

    tr, data = recipe.train, recipe.data
    run.model.train()
    t0 = time.perf_counter()
    seen = correct = 0
    loss_sum = 0.0
    clean = epoch >= tr.epochs - data.clean_last_epochs
    augment = data if data.augment and not clean else None
    for xb, ib in _batches(run.train_x, run.positions, tr.batch_size, tr.seed, epoch, augment):
        x = _to_tensor(xb).to(run.device).contiguous(memory_format=run.memory_format)
        y = torch.from_numpy(run.train_y[ib]).to(run.device)
        run.optimizer.zero_grad(set_to_none=True)
        logits = run.model(x)
        loss = run.loss_fn(logits, y, x, torch.from_numpy(ib).to(run.device))
        loss.backward()
        run.optimizer.step()
        if run.scheduler is not None:
            run.scheduler.step()
        n = len(ib)
        seen += n
        loss_sum += float(loss.detach()) * n
        correct += int((logits.argmax(1) == y).sum())
        progress.step(
            epoch, loss_sum / seen, 100.0 * correct / seen, seen / (time.perf_counter() - t0)
        )
    train_s = time.perf_counter() - t0
    return {
        "epoch": epoch + 1,
        "train_loss": round(loss_sum / seen, 6),
        "train_acc": round(correct / seen, 6),  # fractions, like every rate
        "test_acc": None,
        "lr": None,
        "images_per_s": round(seen / train_s, 1),
        "epoch_s": round(train_s, 2),
        "wall_s": None,
    }


def _save_last(
    run: _Session, recipe: Recipe, run_dir: Path, epoch: int, history: List[Dict[str, Any]]
) -> None:
    """``last.pt`` (resumable: optimizer, schedule, RNG, history) and metrics.json/.csv."""
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    train_state = {
        "epoch": epoch + 1,
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else {},
        "rng": _rng_state(),
        "history": history,
    }
    metrics = {"test_accuracy": history[-1]["test_acc"], "epochs": epoch + 1, **run.stats}
    save_checkpoint(
        make_checkpoint(
            run.model, recipe.model.name, run.args, recipe.to_dict(), metrics, train_state
        ),
        run_dir / "last.pt",
    )
    _write_metrics(run_dir, history)


def train_recipe(
    recipe: Any,
    overrides: Iterable[str] = (),
    run_dir: Optional[Path] = None,
    limit: Optional[int] = None,
    epochs: Optional[int] = None,
    threads: Optional[int] = None,
    quiet: bool = False,
    resume: Optional[Path] = None,
    dry_run: bool = False,
    on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> TrainResult:
    """Load a recipe (path, shipped name, :class:`Recipe`, or its dict form) and train it.

    ``limit`` caps training and test images (tiny runs for tests); ``epochs`` overrides
    ``train.epochs``.
    """
    extra = list(overrides)
    if limit:
        extra += [f"data.limit={int(limit)}", f"data.test_limit={min(int(limit), 10000)}"]
    if epochs:
        extra.append(f"train.epochs={int(epochs)}")
    if isinstance(recipe, Recipe):
        recipe = recipe.to_dict()
    if isinstance(recipe, dict):
        resolved = Recipe.from_dict(recipe, extra)
    else:
        resolved = load_recipe(str(recipe), extra)
    return train(
        resolved,
        run_dir=run_dir,
        resume=resume,
        threads=threads,
        quiet=quiet,
        dry_run=dry_run,
        on_epoch=on_epoch,
    )


class _Progress:
    """Rich progress bar with loss / accuracy / images per second; silent when quiet."""

    def __init__(self, quiet: bool, epochs: int, steps: int, start_epoch: int) -> None:
        self.quiet = quiet
        self.epochs, self.steps = epochs, steps
        self._bar: Any = None
        self._task: Any = None
        self._n = start_epoch * steps
        self._last = 0.0

    def __enter__(self) -> _Progress:
        if not self.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "train",
                total=self.epochs * self.steps,
                completed=self._n,
                epoch=self._n // self.steps + 1,
                epochs=self.epochs,
                stats="",
            )
        return self

    def step(self, epoch: int, loss: float, acc: float, ips: float) -> None:
        self._n += 1
        if self._bar is None:
            return
        now = time.perf_counter()
        if now - self._last > 0.25:  # keep redraw cost off the hot loop
            self._last = now
            self._bar.update(
                self._task,
                completed=self._n,
                epoch=epoch + 1,
                stats=f"loss {loss:.4f} acc {acc:.2f}% {ips:,.0f} img/s",
            )

    def epoch_done(self, row: Dict[str, Any]) -> None:
        if self._bar is None:
            return
        self._bar.update(self._task, completed=self._n)
        self._bar.console.print(
            f"epoch {row['epoch']}: loss {row['train_loss']:.4f}  train {pct(row['train_acc'])}%  "
            f"test {pct(row['test_acc'])}%  {row['images_per_s']:,.0f} img/s  {row['epoch_s']:.1f}s"
        )

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
