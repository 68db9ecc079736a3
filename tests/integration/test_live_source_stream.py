"""``http://`` MJPEG streams through OpenCV's FFmpeg backend, against a real local HTTP server
(``multipart/x-mixed-replace`` JPEG frames, as IP-camera apps and ``live --web`` serve them).
A server that drops the connection is reopened by the capture thread."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from edgemnist.live.capture import Capture
from edgemnist.live.sources import StreamSource, make_source

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.skipif(
    not StreamSource.available()[0], reason="this OpenCV has no FFmpeg backend"
)


class MjpegServer:
    """A real HTTP server: each connection gets ``per_connection`` JPEG frames, then is closed
    (a camera that drops its clients)."""

    def __init__(self, per_connection: int) -> None:
        self.connections = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                outer.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for i in range(per_connection):
                    img = np.full((48, 64, 3), (40 + 20 * i) % 256, np.uint8)
                    jpg = cv2.imencode(".jpg", img)[1].tobytes()
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                    try:
                        self.wfile.write(head % len(jpg) + jpg + b"\r\n")
                    except OSError:
                        return
                    time.sleep(0.01)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def __enter__(self) -> MjpegServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_http_mjpeg_stream_frames_and_masked_credentials():
    with MjpegServer(per_connection=5) as server:
        url = f"http://viewer:s3cret@127.0.0.1:{server.port}/video.mjpg"
        with make_source(url) as src:
            assert isinstance(src, StreamSource) and src.live
            frames = [src.read() for _ in range(3)]
            d = src.describe()
    assert all(f.image.shape == (48, 64, 3) for f in frames)
    assert [round(float(f.image.mean()) / 20) for f in frames] == [2, 3, 4]
    assert d["backend"] == "opencv-ffmpeg" and d["width"] == 64 and d["height"] == 48
    assert "s3cret" not in str(d) and "viewer:***@" in d["url"]


def test_a_dropped_stream_is_reopened():
    with MjpegServer(per_connection=4) as server:
        src = make_source(f"http://127.0.0.1:{server.port}/video.mjpg")
        with Capture(src, backoff=(0.02, 0.1)) as cap:
            end = time.monotonic() + 30
            while (cap.reopens < 2 or cap.frames < 8) and time.monotonic() < end:
                cap.get(timeout=1)
            assert cap.reopens >= 2 and cap.frames >= 8
            assert "stopped delivering" in cap.last_error
    assert server.connections >= 3
