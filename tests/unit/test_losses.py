from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemnist.training.losses import FocalLoss, make_loss  # noqa: E402
from edgemnist.training.recipe import TrainSection  # noqa: E402


def test_focal_with_gamma_zero_is_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(16, 10, generator=g), torch.randint(0, 10, (16,), generator=g)
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, target), ce)
    # focusing down-weights easy examples: the focal loss is never above cross-entropy
    assert FocalLoss(gamma=2.0)(logits, target) < ce


def test_make_loss_by_name():
    train = TrainSection(loss="label_smoothing", label_smoothing=0.1)
    assert make_loss(train).label_smoothing == 0.1
    train.loss = "focal"
    assert isinstance(make_loss(train), FocalLoss)


def test_distillation_loss_is_zero_for_identical_logits_and_kl_times_t2_otherwise():
    from edgemnist.training.losses import distillation_loss

    student = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    assert float(distillation_loss(student, student.clone(), 4.0)) == pytest.approx(0.0, abs=1e-7)
    teacher = torch.tensor([[0.0, 3.0, 0.0], [1.0, -1.0, 0.0]])
    for t in (1.0, 4.0):
        p = torch.softmax(teacher / t, 1)
        q = torch.softmax(student / t, 1)
        expected = float((p * (p.log() - q.log())).sum(1).mean()) * t * t
        assert float(distillation_loss(student, teacher, t)) == pytest.approx(expected, rel=1e-5)


def test_distillation_gradient_pulls_the_student_towards_the_teacher():
    from edgemnist.training.losses import distillation_loss

    student = torch.zeros(1, 3, requires_grad=True)
    teacher = torch.tensor([[0.0, 5.0, 0.0]])
    distillation_loss(student, teacher, 2.0).backward()
    grad = student.grad[0]
    assert grad[1] < 0 and grad[0] > 0 and grad[2] > 0  # descent raises the teacher's class


@pytest.mark.parametrize("steps", [1, 4, 5, 6, 9])
def test_onecycle_survives_tiny_runs(steps):
    from edgemnist.training.trainer import _make_scheduler

    train = TrainSection(epochs=1, schedule="onecycle")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=train.lr)
    sched = _make_scheduler(opt, train, steps)
    lrs = []
    for _ in range(steps):
        opt.step()
        if sched is not None:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert all(lr > 0 for lr in lrs)
    if steps >= 5:
        assert max(lrs) == pytest.approx(train.lr, rel=0.3)  # it does warm up to ~max_lr
