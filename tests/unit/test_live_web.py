"""The web view's server in-process: routes, token rule, MJPEG framing, newest-wins, viewers.

Real sockets on 127.0.0.1 with a plain ``http.client``; JPEG payloads are stand-in bytes here
(the integration test reads real annotated JPEGs from a running ``edgemnist live``).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Dict, Optional, Tuple

import pytest

from edgemnist.errors import ConfigError
from edgemnist.live import web
from edgemnist.live.web import BOUNDARY, WebView, is_loopback, parse_bind


@pytest.fixture
def view():
    v = WebView("127.0.0.1", 0, max_viewers=2).start()
    yield v
    v.stop()


def get(
    v: WebView, path: str, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", v.port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): val for k, val in resp.getheaders()}, body


def read_part(resp: http.client.HTTPResponse) -> bytes:
    """One multipart part: boundary line, headers, exactly Content-Length bytes, CRLF."""
    line = resp.fp.readline()
    assert line == f"--{BOUNDARY}\r\n".encode(), line
    headers = {}
    while True:
        line = resp.fp.readline()
        if line == b"\r\n":
            break
        key, _, value = line.decode().partition(":")
        headers[key.strip().lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    body = resp.fp.read(int(headers["content-length"]))
    assert resp.fp.read(2) == b"\r\n"
    return body


def open_stream(v: WebView, query: str = "") -> Tuple[http.client.HTTPConnection, object]:
    conn = http.client.HTTPConnection("127.0.0.1", v.port, timeout=5)
    conn.request("GET", "/stream.mjpg" + query)
    return conn, conn.getresponse()


def hang_up(conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> None:
    resp.close()  # the response holds the socket too: both must let go of it
    conn.close()


def wait_until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_parse_bind() -> None:
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    for bad in ("", "host:", "70000", "x:y", "[::1]9000"):
        with pytest.raises(ConfigError):
            parse_bind(bad)


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("jetson.local")


def test_any_other_address_gets_a_generated_token() -> None:
    assert WebView("127.0.0.1").token is None
    generated = WebView("0.0.0.0")
    assert generated.token and len(generated.token) >= 16 and generated.token_generated
    assert "?token=" + generated.token in generated.url
    assert WebView("0.0.0.0", token="mine").token == "mine"
    with pytest.raises(ConfigError):
        WebView("0.0.0.0", token=" ")


def test_routes_and_404(view: WebView) -> None:
    status, headers, body = get(view, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/stream.mjpg" in body and b"/stats.json" in body
    view.publish_info(stats={"fps": 30.0, "reading": "42"}, detections={"frame": 7, "digits": []})
    status, _, body = get(view, "/stats.json")
    assert status == 200 and json.loads(body)["reading"] == "42"
    assert json.loads(body)["viewers"] == 0
    status, _, body = get(view, "/detections.json")
    assert status == 200 and json.loads(body) == {"frame": 7, "digits": []}
    for path in ("/index.html", "/stream.mjpg/x", "/../etc/passwd", "/favicon.ico"):
        assert get(view, path)[0] == 404, path
    conn = http.client.HTTPConnection("127.0.0.1", view.port, timeout=5)
    conn.request("POST", "/stats.json", body=b"{}")
    assert conn.getresponse().status == 501
    conn.close()


def test_token_required_everywhere_when_set() -> None:
    with WebView("127.0.0.1", 0, token="s3cret") as v:
        status, headers, _ = get(v, "/stats.json")
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert get(v, "/stats.json?token=wrong")[0] == 403
        assert get(v, "/nothing")[0] == 401  # routes are not revealed without the token
        assert get(v, "/stats.json?token=s3cret")[0] == 200
        assert get(v, "/", {"Authorization": "Bearer s3cret"})[0] == 200
        assert get(v, "/", {"Authorization": "Bearer nope"})[0] == 403


def test_stream_framing_and_newest_frame(view: WebView) -> None:
    conn, resp = open_stream(view)
    assert resp.status == 200
    assert resp.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    assert wait_until(view.watching)
    view.publish_jpeg(b"\xff\xd8first\xff\xd9")
    assert read_part(resp) == b"\xff\xd8first\xff\xd9"
    view.publish_jpeg(b"\xff\xd8second\xff\xd9")
    assert read_part(resp) == b"\xff\xd8second\xff\xd9"
    hang_up(conn, resp)
    assert wait_until(lambda: not view.watching()), "a closed client still counts as a viewer"


def test_a_slow_client_gets_the_newest_jpeg_not_a_queue(view: WebView) -> None:
    for i in range(1, 6):
        view.publish_jpeg(f"jpeg {i}".encode())
    jpeg, seq = view.wait_newer(0, timeout=0.1)
    assert (jpeg, seq) == (b"jpeg 5", 5)
    assert view.wait_newer(5, timeout=0.05) == (None, 5)  # nothing newer: waits, then gives up


def test_viewer_limit_gives_503(view: WebView) -> None:
    streams = [open_stream(view) for _ in range(2)]
    assert all(resp.status == 200 for _, resp in streams)
    assert wait_until(lambda: view.viewers == 2)
    status, headers, _ = get(view, "/stream.mjpg")
    assert status == 503 and "retry-after" in headers
    for conn, resp in streams:
        hang_up(conn, resp)
    assert wait_until(lambda: view.viewers == 0)
    conn, resp = open_stream(view)
    assert resp.status == 200
    hang_up(conn, resp)


def test_snapshot_asks_the_loop_for_a_fresh_frame(view: WebView, monkeypatch) -> None:
    monkeypatch.setattr(web, "SNAPSHOT_WAIT_S", 0.2)
    assert get(view, "/snapshot.jpg")[0] == 503  # nothing published yet

    def loop() -> None:  # what the live loop does: encode only while someone watches
        assert wait_until(view.watching)
        view.publish_jpeg(b"\xff\xd8fresh\xff\xd9")

    t = threading.Thread(target=loop)
    t.start()
    status, headers, body = get(view, "/snapshot.jpg")
    t.join()
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert body == b"\xff\xd8fresh\xff\xd9"
    assert not view.watching()


def test_stop_ends_open_streams() -> None:
    v = WebView("127.0.0.1", 0).start()
    conn, resp = open_stream(v)
    assert wait_until(v.watching)
    v.stop()
    assert resp.read() == b""  # the server closed the stream
    conn.close()
    v.stop()  # twice is fine


def test_port_in_use_is_one_clear_error(view: WebView) -> None:
    with pytest.raises(ConfigError, match="cannot listen"):
        WebView("127.0.0.1", view.port).start()
