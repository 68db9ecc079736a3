"""Result JSON schema, CSV/Markdown views, Pareto front, plots."""

from __future__ import annotations

import copy
import csv
import io
import json

import numpy as np
import pytest
from tiny_onnx import linear_onnx

from edgemnist.bench import SCHEMA_VERSION
from edgemnist.bench.report import (
    fmt_size,
    pareto_front,
    to_csv,
    to_markdown,
    write_outputs,
)
from edgemnist.bench.result import load_result, validate
from edgemnist.bench.rows import plan_rows
from edgemnist.bench.run import BenchConfig, run_bench
from edgemnist.bench.timing import TimingConfig
from edgemnist.errors import ArtifactError


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    """A real result: ONNX Runtime on a linear ONNX model, synthetic images, short budget."""
    pytest.importorskip("onnxruntime")
    run = tmp_path_factory.mktemp("engines") / "linear"
    linear_onnx(run / "model.onnx")
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=200).astype(np.uint8)
    config = BenchConfig(
        batch_sizes=(1, 16),
        latency=TimingConfig(warmup_s=0.0, min_iters=30, min_time_s=0.0),
        quick=True,
    )
    result = run_bench(plan_rows(run_dirs=[run]), config, data=(images, labels), command="test")
    return result.to_dict()


def test_real_result_is_valid_and_json_clean(doc):
    assert validate(doc) == []
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "edgemnist-bench"
    # strictly JSON: no numpy scalars, NaN or paths left in
    text = json.dumps(doc, allow_nan=False)
    assert validate(json.loads(text)) == []
    env = doc["environment"]
    assert env["versions"]["onnxruntime"] and env["cpu"]["cores"]
    assert list(env["models"].values()) == [r["sha256"] for r in doc["rows"] if r["sha256"]]
    assert doc["harness"]["timed_call_us"]["p50"] > 0
    assert doc["config"]["batch_sizes"] == [1, 16]


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda d: d.pop("rows"), "missing field rows"),
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "schema_version"),
        (lambda d: d.update(kind="something-else"), "kind"),
        (lambda d: d["rows"][0].update(status="great"), "status 'great'"),
        (lambda d: d["rows"][1].update(reason=""), "needs a reason"),
        (lambda d: d["rows"][2].pop("latency_us"), "without latency_us"),
        (lambda d: d["rows"][2].update(accuracy=1.5), "accuracy 1.5 is not a fraction"),
        (lambda d: d["rows"][2].update(acuracy=0.5), "unknown field rows[2].acuracy"),
        (lambda d: d["rows"][2].update(n_images="ten"), "rows[2].n_images must be an integer"),
        (lambda d: d["rows"].append(copy.deepcopy(d["rows"][0])), "duplicate id"),
        (lambda d: d["recommendation"].update(choice="nope"), "not a row id"),
        (lambda d: d["environment"].pop("cpu"), "environment.cpu"),
    ],
)
def test_schema_rejects_broken_documents(doc, breakage, message):
    broken = copy.deepcopy(doc)
    assert broken["rows"][2]["status"] == "ok"  # onnxruntime-fp32 ran
    breakage(broken)
    problems = validate(broken)
    assert any(message in p for p in problems), problems


def test_files_round_trip(doc, tmp_path):
    written = write_outputs(doc, tmp_path / "out", "linear", plots=False)
    assert set(written) == {"json", "csv", "markdown"}
    back = load_result(written["json"]).to_dict()
    assert back["rows"] == json.loads(json.dumps(doc["rows"]))

    rows = list(csv.DictReader(io.StringIO(written["csv"].read_text())))
    assert [r["id"] for r in rows] == [r["id"] for r in doc["rows"]]
    ort = next(r for r in rows if r["id"] == "onnxruntime-fp32")
    assert float(ort["latency_p50_us"]) == doc["rows"][2]["latency_us"]["p50"]
    assert float(ort["throughput_b16"]) > 0
    missing = next(r for r in rows if r["id"] == "torch-int8")
    assert missing["status"] == "missing" and "model.torch-int8.pt" in missing["reason"]

    md = written["markdown"].read_text()
    assert "| ONNX Runtime FP32 | ok" in md
    assert doc["recommendation"]["line"] in md
    assert "Harness overhead per timed call" in md
    assert "PyTorch INT8: missing" in md


def test_load_result_rejects_other_files(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ArtifactError, match="not a valid edgemnist bench result"):
        load_result(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="cannot read"):
        load_result(tmp_path / "y.json")


def test_pareto_front():
    pts = [
        {"label": "a", "latency": 10.0, "accuracy": 98.0},
        {"label": "b", "latency": 20.0, "accuracy": 99.0},
        {"label": "c", "latency": 30.0, "accuracy": 98.5},  # slower and worse than b
        {"label": "d", "latency": 50.0, "accuracy": 99.5},
        {"label": "e", "latency": 10.0, "accuracy": 97.0},  # as fast as a, worse
    ]
    assert [p["label"] for p in pareto_front(pts)] == ["a", "b", "d"]


def test_plots_are_png(doc, tmp_path):
    pytest.importorskip("matplotlib")
    written = write_outputs(doc, tmp_path, "linear", plots=True)
    for key in ("cdf", "pareto"):
        assert written[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the Pareto view spans every result in the folder: a second model joins the plot
    other = copy.deepcopy(doc)
    for row in other["rows"]:
        row["model"] = "other"
    write_outputs(other, tmp_path, "other", plots=False)
    from edgemnist.bench.report import pareto_points, sibling_results

    models = {p["model"] for p in pareto_points([doc] + sibling_results(tmp_path))}
    assert models == {"linear", "other"}


def test_markdown_of_a_result_without_ok_rows(doc):
    d = copy.deepcopy(doc)
    for row in d["rows"]:
        row.update(status="unavailable", reason="not here", warnings=[])
    d["recommendation"] = {"choice": None, "line": "No recommendation.", "lines": []}
    assert validate(d) == []
    md = to_markdown(d)
    # a row that did not run shows no numbers, even if the document still holds some
    size = fmt_size(d["rows"][2]["file_size_bytes"])
    assert f"| ONNX Runtime FP32 | unavailable | {size} | - | - |" in md, md
    assert "Batch-1 latency" not in to_markdown(d)  # no numbers for rows that did not run
    assert to_csv(d).count("\n") == len(d["rows"]) + 1


def test_notes_say_which_graph_level_a_row_ran_at_and_why(doc):
    from edgemnist.bench.report import notes

    d = copy.deepcopy(doc)
    row = d["rows"][0]
    assert not [n for n in notes(d) if "graph_opt" in n]  # no manifest measurement: no note
    row["info"] = {
        "graph_opt": "extended",
        "graph_opt_from": "manifest",
        "graph_opt_why": "measured on this CPU at quantize time (all 599 µs, extended 517 µs)",
    }
    assert f"{row['label']}: ONNX Runtime graph_opt extended: measured on this CPU" in "\n".join(
        notes(d)
    )
    row["info"] = {"graph_opt": "all", "graph_opt_from": "manifest", "graph_opt_why": "measured"}
    assert not [n for n in notes(d) if "graph_opt" in n]  # the default, measured: nothing to say
    row["info"] = {
        "graph_opt": "all",
        "graph_opt_from": "default",
        "graph_opt_why": "the manifest's graph_opt 'extended' was measured on another CPU",
    }
    assert any("measured on another CPU" in n for n in notes(d))
