"""``edgemnist live --web`` from the outside: a running ``live`` process bound to 0.0.0.0 (so
the token rule applies; the tests connect through 127.0.0.1 only), read with plain HTTP
clients (MJPEG framing, valid JPEGs, the JSON routes, 404s, the viewer limit) and looked at in
a real headless Chromium (the page shows the annotated stream with boxes and digits).

``EDGEMNIST_UPDATE_SCREENSHOT=1`` also copies the screenshot to docs/live-web.png.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

pytest.importorskip("torch")  # the model is trained and exported here
cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from live_helpers import REPO, LiveProcess, export_live_model  # noqa: E402

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Served:
    proc: LiveProcess
    port: int
    token: str

    def get(
        self, path: str, token: Optional[str] = "", headers: Optional[Dict[str, str]] = None
    ) -> Tuple[int, Dict[str, str], bytes]:
        """GET ``path`` through 127.0.0.1 (with the right token unless told otherwise)."""
        if token == "":
            token = self.token
        if token is not None:
            path += ("&" if "?" in path else "?") + f"token={token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body

    def stream(self) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
        conn.request("GET", f"/stream.mjpg?token={self.token}")
        return conn, conn.getresponse()


@pytest.fixture(scope="module")
def served(tiny_checkpoint: Path, mnist_dir: Path, tmp_path_factory):
    model = export_live_model(tiny_checkpoint, mnist_dir, tmp_path_factory.mktemp("web-model"))
    src = "synthetic://?digits=3&seed=5&fps=30&sheet_every=150"
    p = LiveProcess([src, str(model), "--realtime", "--web", "0.0.0.0:0", "--max-viewers", "2",
                     "--duration", "600", "--json"], mnist_dir)  # fmt: skip
    line = p.wait_for_line("web view: ")
    url = urlsplit(line.split()[-1])
    assert url.hostname == "0.0.0.0"
    token = parse_qs(url.query)["token"][0]  # generated: not loopback, no --token given
    assert len(token) >= 16
    yield Served(p, int(url.port), token)
    p.stop()


def read_part(resp: http.client.HTTPResponse, boundary: str) -> bytes:
    assert resp.fp.readline() == f"--{boundary}\r\n".encode()
    headers = {}
    while (line := resp.fp.readline()) != b"\r\n":
        key, _, value = line.decode("ascii").partition(":")
        headers[key.strip().lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    body = resp.fp.read(int(headers["content-length"]))
    assert resp.fp.read(2) == b"\r\n"
    return body


def decode(jpeg: bytes) -> np.ndarray:
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"  # SOI ... EOI
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)
    return image


def test_token_rule(served: Served) -> None:
    status, headers, _ = served.get("/stats.json", token=None)
    assert status == 401 and "bearer" in headers["www-authenticate"].lower()
    assert served.get("/stats.json", token="wrong-token")[0] == 403
    assert served.get("/stream.mjpg", token=None)[0] == 401
    assert served.get("/stats.json")[0] == 200
    auth = {"Authorization": f"Bearer {served.token}"}
    assert served.get("/stats.json", token=None, headers=auth)[0] == 200


def test_mjpeg_stream(served: Served) -> None:
    conn, resp = served.stream()
    assert resp.status == 200
    ctype = resp.getheader("Content-Type")
    assert ctype.startswith("multipart/x-mixed-replace; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    assert resp.getheader("Cache-Control") == "no-store"
    frames = [decode(read_part(resp, boundary)) for _ in range(6)]
    resp.close()
    conn.close()
    assert any(not np.array_equal(frames[0], f) for f in frames[1:])  # a live view, not a still
    assert (frames[-1][:20] < 60).mean() > 0.5  # the status bar is drawn on the frame


def test_json_routes_snapshot_and_404(served: Served) -> None:
    deadline = time.monotonic() + 90
    while True:  # the status is published twice a second; wait for a few frames' worth
        status, headers, body = served.get("/stats.json")
        stats = json.loads(body)
        if stats.get("frames", 0) >= 10 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200 and headers["content-type"] == "application/json"
    assert stats["frames"] >= 10 and stats["state"] == "running" and "reading" in stats
    assert stats["backend"] == "onnxruntime" and stats["fps"] > 0
    status, _, body = served.get("/detections.json")
    det = json.loads(body)
    assert status == 200 and det["frame"] >= 0 and isinstance(det["digits"], list)
    status, headers, body = served.get("/snapshot.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    decode(body)
    status, headers, body = served.get("/")
    assert status == 200 and b"<img" in body and headers["content-type"].startswith("text/html")
    for path in ("/x", "/stream.mjpg2", "/stats", "/docs/../stats.json"):
        assert served.get(path)[0] == 404, path


def test_viewer_limit(served: Served) -> None:
    first, second = served.stream(), served.stream()
    try:
        assert first[1].status == 200 and second[1].status == 200
        status, headers, _ = served.get("/stream.mjpg")
        assert status == 503 and headers["retry-after"]
    finally:
        for conn, resp in (first, second):
            resp.close()
            conn.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt install chromium)")
def test_page_in_headless_chromium_shows_boxes_and_digits(served: Served, tmp_path: Path) -> None:
    shot = tmp_path / "live-web.png"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
            "--window-size=1000,600", "--virtual-time-budget=3000", f"--screenshot={shot}",
            f"http://127.0.0.1:{served.port}/?token={served.token}"]  # fmt: skip
    subprocess.run(argv, capture_output=True, timeout=120, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    png = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    assert png is not None and png.shape[:2] == (600, 1000)
    view = png[:500, :660]  # where the stream is (640 px wide, left)
    assert view.std() > 20, "the stream area is blank"
    # stable boxes are green (BGR 60, 200, 60), tentative ones yellow (0, 210, 255)
    green = (np.abs(view.astype(int) - (60, 200, 60)).max(axis=2) < 45).sum()
    yellow = (np.abs(view.astype(int) - (0, 210, 255)).max(axis=2) < 45).sum()
    assert green + yellow > 300, f"no boxes in the screenshot ({green} green, {yellow} yellow)"
    # the page polls /stats.json: the side panel beside the stream shows stats and the reading
    panel = png[:, 670:]
    assert (panel > 200).all(axis=2).sum() > 500, "no stats beside the stream"
    reading = json.loads(served.get("/stats.json")[2])["reading"]
    if any(c.isdigit() for c in reading):  # a stable digit: the reading is shown in light green
        assert (np.abs(panel.astype(int) - (154, 252, 124)).max(axis=2) < 40).sum() > 50
    if os.environ.get("EDGEMNIST_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "live-web.png")


def test_sigterm_summary_encodes_only_while_watched(served: Served) -> None:
    assert served.proc.stop() == 0, served.proc.stderr
    s = json.loads(served.proc.stdout)
    assert s["stopped_by"] == "SIGTERM"
    encoded, frames = s["stages_ms"]["encode"]["n"], s["frames"]
    assert 0 < encoded < frames  # JPEGs only while a stream or a snapshot was open
