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
    # stem 5x5: 12*25*14*14; 12->24 3x3 s2: 24*108*7*7; 2x 24->24: 24*216*7*7;
    # 24->8: 8*216*7*7; FC 392->10
    assert count_macs(m) == 58800 + 127008 + 2 * 254016 + 84672 + 3920
    assert count_params(m) == 19102


def test_edge_v2_layout_still_builds_with_its_counts():
    v2 = dict(stem=16, blocks=[[32, 2, "conv"], [16, 1, "conv"]])  # train/edge-fast.toml
    m = build_model("edge", **v2)
    # stem 5x5: 16*25*14*14; 16->32 3x3 s2: 32*144*7*7; 32->16 3x3: 16*288*7*7; FC 784->10
    assert count_macs(m) == 78400 + 225792 + 225792 + 7840
    assert count_params(m) == 17594


def test_edge_separable_v1_layout_still_builds_with_its_counts():
    v1 = dict(stem=16, stem_kernel=3, blocks=[[32, 1], [64, 2], [64, 1], [96, 1]], head="gap")
    m = build_model("edge", **v1)
    assert (count_params(m), count_macs(m)) == (16394, 830432)  # the v1 checkpoints' numbers
    assert any(c.groups > 1 for c in m.modules() if isinstance(c, torch.nn.Conv2d))


@pytest.mark.parametrize(
    "args, message",
    [({"head": "avg"}, "head must be"), ({"blocks": [[8, 1, "dw"]]}, "block kind must be")],
)
def test_edge_bad_options_are_config_errors(args, message):
    with pytest.raises(ConfigError, match=message):
        build_model("edge", **args)


def test_edge_flatten_head_follows_the_strides():
    m = build_model("edge", blocks=[[8, 2, "conv"], [8, 2, "conv"]], squeeze=4)
    assert m.classifier.in_features == 4 * 4 * 4  # 28 -> 14 -> 7 -> 4
    assert m(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


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
