"""``edgemnist live`` end to end, as a user runs it: a real model on ``synthetic://``, JSONL,
the summary, SIGTERM, a source that dies mid-run (a real gst-launch child killed), garbage
frames, recording, saved digits, ``--bench`` and the one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest

pytest.importorskip("torch")  # the model is trained and exported here
cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from live_helpers import LiveProcess, export_live_model  # noqa: E402

pytestmark = pytest.mark.integration

SYNTH = "synthetic://?digits=4&seed=3&sheet_every=60"
STAGES = {"capture", "detect", "prepare", "infer", "track", "output"}


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Path, mnist_dir: Path, tmp_path_factory) -> Path:
    return export_live_model(tiny_checkpoint, mnist_dir, tmp_path_factory.mktemp("live-model"))


def run(args: List[str], mnist_dir: Path, timeout: float = 120) -> LiveProcess:
    """Run ``live`` to completion (bounded by --frames/--duration or the source's end)."""
    p = LiveProcess(args, mnist_dir)
    p.wait(timeout)
    return p


def jsonl_lines(path: Path) -> List[dict]:
    data = path.read_bytes()
    assert not data or data.endswith(b"\n"), "torn last line"
    return [json.loads(line) for line in data.splitlines()]


def test_bounded_run_json_summary_and_jsonl(model: Path, mnist_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames.jsonl"
    p = run([SYNTH, str(model), "--frames", "40", "--json", "--threads", "1", "--jsonl",
             str(out)], mnist_dir)  # fmt: skip
    assert p.proc.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["frames"] == 40 and s["stopped_by"] == "frames"
    assert set(s["stages_ms"]) >= STAGES and "draw" not in s["stages_ms"]  # nobody watched
    for block in (s["processing_ms"], s["age_ms"], *s["stages_ms"].values()):
        assert block["n"] == 40 and 0 <= block["p50"] <= block["p90"] <= block["p99"]
    assert s["capture"]["dropped"] == 0  # synthetic is read frame by frame unless --realtime
    assert s["backend"] == "onnxruntime" and s["runner"]["threads"] == 1
    lines = jsonl_lines(out)
    assert [ln["frame"] for ln in lines] == list(range(40))
    assert sum(len(ln["digits"]) for ln in lines) >= 40 * 2  # 4 digits a sheet, mostly found
    for ln in lines:
        for d in ln["digits"]:
            assert len(d["box"]) == 4 and all(isinstance(v, int) for v in d["box"])
            assert d["digit"] is None or 0 <= d["digit"] <= 9
            assert 0.0 <= d["confidence"] <= 1.0 and isinstance(d["track"], int)
    assert any(d["stable"] for ln in lines for d in ln["digits"])


def test_sigterm_stops_cleanly_with_whole_jsonl_and_a_summary(
    model: Path, mnist_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "frames.jsonl"
    p = LiveProcess([SYNTH + "&fps=30", str(model), "--realtime", "--jsonl", str(out)], mnist_dir)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 2000):
        assert p.proc.poll() is None, p.stderr
        time.sleep(0.1)
    rc = p.stop(signal.SIGTERM)
    assert rc == 0, p.stderr
    lines = jsonl_lines(out)
    assert len(lines) >= 3
    assert "stopped by SIGTERM" in p.stdout and "frame age" in p.stdout  # the summary
    assert "Traceback" not in p.stderr


needs_gst = pytest.mark.skipif(
    shutil.which("gst-launch-1.0") is None, reason="gst-launch-1.0 not installed (apt)"
)


def children(pid: int) -> List[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@needs_gst
def test_source_that_dies_mid_run_is_reopened_and_the_run_goes_on(
    model: Path, mnist_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "frames.jsonl"
    src = "gst://videotestsrc is-live=true pattern=ball ! video/x-raw,framerate=30/1"
    p = LiveProcess([src, str(model), "--width", "320", "--height", "240", "--jsonl", str(out),
                     "--json"], mnist_dir)  # fmt: skip

    def n_lines() -> int:
        return len(out.read_bytes().splitlines()) if out.exists() else 0

    def wait(cond, what: str) -> None:
        end = time.monotonic() + 60
        while not cond():
            assert p.proc.poll() is None, p.stderr
            assert time.monotonic() < end, f"timed out waiting for {what}: {p.stderr[-2000:]}"
            time.sleep(0.05)

    wait(lambda: n_lines() >= 10, "the first frames")
    gst_pids = [c for c in children(p.proc.pid) if "gst-launch" in Path(f"/proc/{c}/cmdline")
                .read_bytes().decode(errors="replace")]  # fmt: skip
    assert gst_pids, "no gst-launch-1.0 child found"
    os.kill(gst_pids[0], signal.SIGKILL)  # the camera pipeline dies
    before = n_lines()
    wait(lambda: n_lines() >= before + 20, "frames after the reopen")
    assert p.stop(signal.SIGTERM) == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["capture"]["reopens"] >= 1 and s["stopped_by"] == "SIGTERM"
    frames = [ln["frame"] for ln in jsonl_lines(out)]
    assert len(frames) >= before + 20


def test_garbage_frames_are_skipped(model: Path, mnist_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    page = np.full((240, 320, 3), 235, np.uint8)
    cv2.putText(page, "42", (90, 170), cv2.FONT_HERSHEY_SIMPLEX, 4, (20, 20, 20), 12)
    cv2.imwrite(str(folder / "a.png"), page)
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))  # torn / garbage
    cv2.imwrite(str(folder / "c.png"), np.zeros((3, 3, 3), np.uint8))  # a sliver, not a frame
    cv2.imwrite(str(folder / "d.png"), page)
    p = run([str(folder), str(model), "--json"], mnist_dir)
    assert p.proc.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["frames"] == 2 and s["stopped_by"] == "end of source"
    skipped = s["skipped"] + s["source_info"]["skipped"] + s["capture"]["bad_frames"]
    assert skipped == 2


def test_record_save_digits_and_bench(model: Path, mnist_dir: Path, tmp_path: Path) -> None:
    video, digits = tmp_path / "run.avi", tmp_path / "digits"
    p = run([SYNTH, str(model), "--frames", "30", "--record", str(video), "--save-digits",
             str(digits), "--bench"], mnist_dir)  # fmt: skip
    assert p.proc.returncode == 0, p.stderr
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 30
    saved = sorted(digits.glob("*.png"))
    assert saved and all(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).shape == (28, 28) for f in saved)
    tracks = [f.name.split("-")[1] for f in saved]
    assert len(tracks) == len(set(tracks)), "a track was saved twice"
    assert "draw" in p.stdout  # the recording needed pixels: draw was timed
    bench = next(Path(os.environ["EDGEMNIST_HOME"]).glob("benchmarks/*/live-*.json"), None)
    assert bench is not None, p.stdout
    result = json.loads(bench.read_text())
    assert result["kind"] == "live" and result["summary"]["frames"] == 30
    assert result["environment"]["cpu"]["model"]


def test_errors_are_one_line(model: Path, mnist_dir: Path, tmp_path: Path) -> None:
    p = run([SYNTH, str(tmp_path / "missing.onnx"), "--frames", "1"], mnist_dir)
    assert p.proc.returncode == 1 and "error:" in p.stderr and "Traceback" not in p.stderr
    p = run([SYNTH, str(model), "--frames", "1", "--show"], mnist_dir)
    assert p.proc.returncode == 1 and "--web" in p.stderr  # no display here: says what to do
    p = run(["nosuchcam://0", str(model)], mnist_dir)
    assert p.proc.returncode == 1 and "synthetic://" in p.stderr
