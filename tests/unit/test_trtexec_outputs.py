"""trtexec's output parser against REAL public trtexec outputs (tests/unit/data/trtexec/*.txt,
each citing its source in its header): TensorRT 7.x, 8.0.1 and 8.2.1 on a Jetson Nano, 8.0.3 ->
8.6.0 on desktop GPUs, 8.4.0 on a Jetson AGX Xavier, 10.14.1 and 10.16.1. Every figure printed in
each summary is compared with expected.json (transcribed independently of the parser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemnist.engine.trtexec_cmd import parse_performance_summary

DATA = Path(__file__).parent / "data" / "trtexec"
EXPECTED = {
    k: v for k, v in json.loads((DATA / "expected.json").read_text()).items() if k[0] != "_"
}
SECTIONS = (
    "latency_ms", "end_to_end_host_latency_ms", "enqueue_ms", "h2d_ms", "gpu_compute_ms", "d2h_ms",
)  # fmt: skip
SCALARS = ("throughput_qps", "total_host_walltime_s", "total_gpu_compute_s")


def fixture_text(name: str) -> str:
    """The fixture without its ``# `` header (the source citation)."""
    lines = (DATA / name).read_text().splitlines()
    return "\n".join(ln for ln in lines if not ln.startswith("# ")) + "\n"


def test_fixtures_cover_the_versions_and_sources_asked_for():
    names = sorted(EXPECTED)
    assert len(names) >= 10 and sorted(p.name for p in DATA.glob("*.txt")) == names
    sources = set()
    for name in names:
        header = [ln for ln in (DATA / name).read_text().splitlines() if ln.startswith("# ")]
        source = next(ln for ln in header if ln.startswith("# source: "))
        sources.add(source.split("/blob/")[0].split(" (")[0])
    assert len(sources) >= 5, sources
    versions = {EXPECTED[n]["tensorrt_version"] for n in names}
    assert {"8.0.1", "8.2.1"} <= versions  # Jetson Nano (JetPack 4.6 / 4.6.1+)
    assert {"8.4.0", "8.6.0", "10.16.1"} <= versions
    assert any(EXPECTED[n]["format"] == "7.x" for n in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_printed_figure_parses_to_its_value(name):
    want = EXPECTED[name]
    got = parse_performance_summary(fixture_text(name))
    assert got["tensorrt_version"] == want["tensorrt_version"]
    assert got["format"] == want["format"]
    figures = want["figures"]
    for key in SECTIONS:
        if key not in figures:
            assert key not in got, f"{key} reported although {name} prints no such line"
            continue
        printed = dict(figures[key])
        if "p50" not in printed and "median" in printed:
            printed["p50"] = printed["median"]  # p50 comes from the median line
        assert got[key] == printed, key
    for key in SCALARS:
        assert got.get(key) == figures.get(key), key
    assert got["implicit_batch"] == want["implicit_batch"]
    assert got["throughput_per"] == ("image" if want["implicit_batch"] else "inference")
    assert got["images_per_s"] == want["images_per_s"]
    if want["warnings"] is not None:
        assert got["warnings"] == want["warnings"]


def test_no_summary_is_reported_missing_not_zero():
    got = parse_performance_summary(fixture_text("trt10.16.1_h100_dumpprofile_nosummary.txt"))
    assert got["summary"] is False and got["throughput_qps"] is None
    assert not [k for k in got if k.endswith("_ms") or k.startswith("total_")]
    assert got["images_per_s"] is None
    assert got["missing"] == ["performance summary"]
    assert "--dumpProfile without --separateProfileRun" in got["warnings"][0]


def test_pre8_format_is_parsed_with_its_implicit_batch_per_image():
    got = parse_performance_summary(fixture_text("trt7.x_implicit_batch4_caffe.txt"))
    assert got["format"] == "7.x" and got["summary"]
    # "Timing trace has 68 queries over 3.39842 s" with --batch=4: 20.0093 qps counts images
    assert got["throughput_per"] == "image" and got["images_per_s"] == 20.0093
    assert any("implicit batch 4" in n for n in got["notes"])


def test_pre8_zero_throughput_of_explicit_batch_is_missing():
    """TensorRT 7 prints ``throughput: 0 qps`` for explicit-batch networks (batch = 0 in its
    formula; NVIDIA/TensorRT issue #2054 shows one): that is not a measurement."""
    text = fixture_text("trt7.x_implicit_batch1_caffe.txt").replace("Batch: 1", "Batch: Explicit")
    text = text.replace("--batch=1 ", "").replace("throughput: 18.0758 qps", "throughput: 0 qps")
    got = parse_performance_summary(text)
    assert got["throughput_qps"] is None and "throughput_qps" in got["missing"]
    assert got["latency_ms"]["p99"] == 57.542


def test_single_percentile_versions_report_the_others_missing():
    """8.0-8.4 print one percentile: asked-for p90 is listed missing, p50 is the median."""
    got = parse_performance_summary(
        fixture_text("trt8.4.1_gtx1070_mnist_explicit.txt"), percentiles=(50, 90, 99)
    )
    lat = got["latency_ms"]
    assert "p90" not in lat and "latency_ms.p90" in got["missing"]
    assert lat["p50"] == lat["median"] == 0.161377 and lat["p99"] == 0.360962
    assert "latency_ms.p99" not in got["missing"] and "latency_ms.p50" not in got["missing"]


def test_data_transfers_off_is_noted():
    got = parse_performance_summary(fixture_text("trt10.16.1_h100_mnist_nodatatransfers.txt"))
    assert got["h2d_ms"]["max"] == 0 and any("not measurements" in n for n in got["notes"])
