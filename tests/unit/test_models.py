from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemnist.errors import ConfigError  # noqa: E402
from edgemnist.models import REGISTRY, build_model  # noqa: E402
from edgemnist.models.stats import count_macs, count_params  # noqa: E402


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_models_map_a_batch_to_ten_logits(name):
    kwargs = {"width": 8} if name == "resnet18_cbam" else {}
    model = build_model(name, **kwargs).eval()
    with torch.no_grad():
        out = model(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 10)


def test_lenet5_counts_match_the_paper_layout():
    m = build_model("lenet5")
    # C1 156 + C3 2416 + C5 48120 + F6 10164 + out 850
    assert count_params(m) == 156 + 2416 + 48120 + 10164 + 850
    # C1 6*28*28*25 + C3 16*10*10*150 + 400*120 + 120*84 + 84*10
    assert count_macs(m) == 117600 + 240000 + 48000 + 10080 + 840


def test_edge_is_small():
    m = build_model("edge")
    assert count_params(m) < 20_000
    assert count_macs(m) < 1_000_000


def test_vgg_bn_is_the_specified_stack():
    m = build_model("vgg_bn")
    convs = [c.out_channels for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert convs == [32, 32, 64, 64]
    assert sum(isinstance(c, torch.nn.BatchNorm2d) for c in m.modules()) == 4
    assert count_macs(m) >= 10_000_000  # the zoo's >= 10 M MAC model for the INT8 benchmark


def test_resnet18_cbam_has_eight_blocks_with_attention():
    from edgemnist.models.resnet_cbam import BasicBlockCBAM

    m = build_model("resnet18_cbam", width=8)
    assert sum(isinstance(b, BasicBlockCBAM) for b in m.modules()) == 8


def test_bad_model_args_are_a_config_error():
    with pytest.raises(ConfigError, match="bad arguments"):
        build_model("lenet5", widht=3)
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("alexnet")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_full_args_rebuild_the_same_model_without_defaults(name):
    from edgemnist.models import full_args

    args = full_args(name, {"num_classes": 10})
    assert all(not isinstance(v, tuple) for v in args.values())  # plain lists for checkpoints
    a, b = build_model(name), build_model(name, **args)
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }
