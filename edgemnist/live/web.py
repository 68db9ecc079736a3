"""``--web [HOST:]PORT``: a headless live view in any browser (MJPEG over plain HTTP).

Why the standard library (``http.server.ThreadingHTTPServer``) and not a web framework: the
view is five read-only routes and one long-lived response; MJPEG is just
``multipart/x-mixed-replace`` parts written to a socket, which every browser shows in an
``<img>``; a Jetson Nano or a Pi then needs no extra package (and no event loop fighting the
capture thread for the GIL). One thread per client is fine for the bounded number of viewers.

Routes, and nothing else (404 otherwise):

- ``/``: a page with the stream, live stats and the current reading (polls ``/stats.json``);
  it falls back to polling ``/snapshot.jpg`` when the stream is refused (viewer limit) or with
  ``?view=snapshot``.
- ``/stream.mjpg``: the annotated stream. Each client waits on a condition for a JPEG newer than
  the one it last sent, so the newest frame always wins and a slow client skips frames instead
  of queueing them; at most ``max_viewers`` streams at once (503 beyond).
- ``/snapshot.jpg``: one fresh annotated frame.
- ``/stats.json``: timing, counters, source state, the reading.
- ``/detections.json``: the latest frame's digits (the ``--jsonl`` record).

Access: binds 127.0.0.1 by default. Binding any other address requires a token (generated with
``secrets.token_urlsafe`` when not given, and printed in the URL); with a token every route
needs it as ``?token=`` or ``Authorization: Bearer``, compared in constant time: 401 when
missing, 403 when wrong.

Cost: the loop encodes JPEG only while :meth:`WebView.watching` (a stream is connected or a
snapshot is being waited for); with nobody watching the web view costs nothing per frame.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import secrets
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from edgemnist.errors import ConfigError

BOUNDARY = "edgemnist-frame"
#: seconds a blocked write to a client may take before the client is dropped
CLIENT_TIMEOUT_S = 10.0
#: how long a snapshot request waits for a fresh frame before serving the latest one
SNAPSHOT_WAIT_S = 1.0
DEFAULT_HOST = "127.0.0.1"


def parse_bind(text: str) -> Tuple[str, int]:
    """``"8080"`` -> ``("127.0.0.1", 8080)``; ``"0.0.0.0:8080"``; ``"[::1]:0"`` -> ``("::1", 0)``.

    Raises:
        ConfigError: not ``[HOST:]PORT`` with a port in 0..65535.
    """
    text = text.strip()
    host, port = DEFAULT_HOST, text
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ConfigError(f"--web {text!r}: write an IPv6 address as [ADDR]:PORT")
    elif ":" in text:
        host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535 or not host:
        raise ConfigError(f"--web {text!r}: expected [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080")
    return host, number


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


class WebView:
    """The web server and the newest JPEG/stats it serves.

    Args:
        host: address to bind (127.0.0.1 by default; anything else needs a token).
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        token: access token; required and generated when ``host`` is not loopback.
        max_viewers: concurrent ``/stream.mjpg`` clients; more get 503.

    Example:
        >>> view = WebView("127.0.0.1", 0).start()  # doctest: +SKIP
        >>> view.publish_jpeg(jpeg_bytes); print(view.url)  # doctest: +SKIP
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: Optional[str] = None,
        max_viewers: int = 4,
    ) -> None:
        if max_viewers < 1:
            raise ConfigError("--max-viewers must be 1 or more")
        self.host = host
        self.port = port
        if token is not None and not token.strip():
            raise ConfigError("--token is empty: give a token or leave it out to get one")
        self.token = token if token is not None or is_loopback(host) else _new_token()
        self.token_generated = token is None and self.token is not None
        self.max_viewers = max_viewers
        self.viewers = 0
        self.snapshot_waiters = 0
        self.stopping = False
        self.cond = threading.Condition()
        self.jpeg: Optional[bytes] = None
        self.seq = 0
        self.stats: Dict[str, Any] = {}
        self.detections: Dict[str, Any] = {}
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> WebView:
        """Bind and serve in a daemon thread; returns ``self``.

        Raises:
            ConfigError: the address cannot be bound (in use, not this machine's, no rights).
        """
        view = self

        class Handler(_Handler):
            pass

        Handler.view = view
        server_cls = _Server6 if ":" in self.host else _Server
        try:
            self._server = server_cls((self.host, self.port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"--web cannot listen on {self.host}:{self.port}: {exc.strerror}; "
                "pick another port (0 picks a free one) or address"
            ) from None
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name="edgemnist-web",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake every waiting client so its thread ends; safe to call twice."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> WebView:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The page's URL, with the token when one is needed (``0.0.0.0`` shown as is)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    # -- the loop's side ----------------------------------------------------------------------
    def watching(self) -> bool:
        """True while a stream client is connected or a snapshot is waited for: only then
        does the loop draw and encode a JPEG for the web."""
        return self.viewers > 0 or self.snapshot_waiters > 0

    def publish_jpeg(self, jpeg: bytes) -> None:
        """Hand the newest annotated JPEG to every waiting client."""
        with self.cond:
            self.jpeg = jpeg
            self.seq += 1
            self.cond.notify_all()

    def publish_info(
        self, stats: Optional[Dict[str, Any]] = None, detections: Optional[Dict[str, Any]] = None
    ) -> None:
        """Replace what ``/stats.json`` and ``/detections.json`` serve (whole dicts, no copy:
        the loop builds a new dict each time and never mutates a published one)."""
        if stats is not None:
            self.stats = stats
        if detections is not None:
            self.detections = detections

    # -- the clients' side --------------------------------------------------------------------
    def wait_newer(self, seen: int, timeout: float) -> Tuple[Optional[bytes], int]:
        """The newest JPEG once its sequence number is above ``seen``; ``(None, seen)`` on
        timeout or shutdown."""
        with self.cond:
            self.cond.wait_for(lambda: self.seq > seen or self.stopping, timeout=timeout)
            if self.stopping or self.seq <= seen or self.jpeg is None:
                return None, seen
            return self.jpeg, self.seq

    def snapshot(self, timeout: Optional[float] = None) -> Optional[bytes]:
        """A fresh JPEG (asks the loop for one and waits up to ``timeout``, default
        :data:`SNAPSHOT_WAIT_S`), else the latest, else None."""
        timeout = SNAPSHOT_WAIT_S if timeout is None else timeout
        with self.cond:
            self.snapshot_waiters += 1
            try:
                seen = self.seq
                self.cond.wait_for(lambda: self.seq > seen or self.stopping, timeout=timeout)
                return self.jpeg
            finally:
                self.snapshot_waiters -= 1

    def check_token(self, query_token: Optional[str], authorization: Optional[str]) -> int:
        """200 when access is allowed, 401 when no token was given, 403 when it is wrong."""
        if self.token is None:
            return 200
        given = query_token
        if given is None and authorization and authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        if given is None:
            return 401
        ok = hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))
        return 200 if ok else 403


def _new_token() -> str:
    return secrets.token_urlsafe(16)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """One request. ``view`` is set on a per-server subclass."""

    view: WebView
    timeout = CLIENT_TIMEOUT_S  # socket timeout: a client that stops reading is dropped
    server_version = "edgemnist"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Quiet: a camera service would otherwise log every request."""

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        """Route a GET; every other method gets the stdlib's 501."""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        status = self.view.check_token(
            query.get("token", [None])[0], self.headers.get("Authorization")
        )
        if status == 401:
            self._send(
                401,
                b"token required: add ?token=... to the URL\n",
                "text/plain",
                extra={"WWW-Authenticate": 'Bearer realm="edgemnist"'},
            )
            return
        if status == 403:
            self._send(403, b"wrong token\n", "text/plain")
            return
        route = {
            "/": self._page,
            "/stream.mjpg": self._stream,
            "/snapshot.jpg": self._snapshot,
            "/stats.json": self._stats,
            "/detections.json": self._detections,
        }.get(parts.path)
        if route is None:
            self._send(404, b"not found\n", "text/plain")
            return
        # a client that went away or stopped reading is no error
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, socket.timeout):
            route()

    # -- routes ---------------------------------------------------------------------------------
    def _page(self) -> None:
        self._send(200, PAGE.encode("utf-8"), "text/html; charset=utf-8")

    def _stats(self) -> None:
        stats = dict(self.view.stats)
        stats["viewers"] = self.view.viewers
        self._send_json(stats)

    def _detections(self) -> None:
        self._send_json(self.view.detections)

    def _snapshot(self) -> None:
        jpeg = self.view.snapshot()
        if jpeg is None:
            self._send(
                503,
                b"no frame yet: the camera has not delivered one\n",
                "text/plain",
                extra={"Retry-After": "1"},
            )
            return
        self._send(200, jpeg, "image/jpeg")

    def _stream(self) -> None:
        view = self.view
        with view.cond:
            if view.viewers >= view.max_viewers:
                full = True
            else:
                full = False
                view.viewers += 1
        if full:
            self._send(
                503,
                f"at most {view.max_viewers} viewers; try later\n".encode(),
                "text/plain",
                extra={"Retry-After": "5"},
            )
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self._common_headers()
            self.end_headers()
            seen = 0
            while not view.stopping:
                jpeg, seq = view.wait_newer(seen, timeout=0.5)
                if self._client_gone():
                    return  # hung up: free the slot now, not at the next frame's write
                if jpeg is None:
                    continue
                seen = seq
                head = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode("ascii")
                self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()
        finally:
            with view.cond:
                view.viewers -= 1

    # -- helpers --------------------------------------------------------------------------------
    def _client_gone(self) -> bool:
        """True when the client closed its end (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")

    def _send(
        self, code: int, body: bytes, ctype: str, extra: Optional[Dict[str, str]] = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, obj: Any) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        self._send(200, body, "application/json")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgemnist live</title>
<style>
 body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #111; color: #eee; }
 main { display: flex; gap: 16px; padding: 12px; align-items: flex-start; }
 @media (max-width: 900px) { main { flex-direction: column; } }
 #view { flex: 0 1 auto; width: 640px; min-width: 0; max-width: 100%; background: #000;
         border: 1px solid #333; }
 aside { flex: 0 0 290px; }
 #reading { font: bold 44px/1.1 ui-monospace, monospace; color: #7CFC9A; min-height: 50px;
            letter-spacing: 4px; }
 table { border-collapse: collapse; }
 td { padding: 1px 10px 1px 0; vertical-align: top; }
 td:first-child { color: #999; white-space: nowrap; }
 td:last-child { overflow-wrap: anywhere; }
 #state.bad { color: #ff6b6b; font-weight: bold; }
 h1 { font-size: 16px; margin: 0 0 6px; color: #bbb; font-weight: normal; }
</style></head>
<body><main>
<img id="view" alt="live view">
<aside>
 <h1>edgemnist live</h1>
 <div>reading</div><div id="reading">&nbsp;</div>
 <table>
  <tr><td>source</td><td id="source"></td></tr>
  <tr><td>state</td><td id="state"></td></tr>
  <tr><td>model</td><td id="model"></td></tr>
  <tr><td>FPS</td><td id="fps"></td></tr>
  <tr><td>processing</td><td id="proc"></td></tr>
  <tr><td>frame age</td><td id="age"></td></tr>
  <tr><td>frames</td><td id="frames"></td></tr>
  <tr><td>dropped</td><td id="dropped"></td></tr>
  <tr><td>viewers</td><td id="viewers"></td></tr>
 </table>
</aside>
</main>
<script>
const params = new URLSearchParams(location.search);
const tok = params.get("token");
const q = tok ? "?token=" + encodeURIComponent(tok) : "";
const img = document.getElementById("view");
let polling = false;
function pollSnapshots() {
  if (polling) return;
  polling = true;
  const next = () => {
    const sep = q ? "&" : "?";
    const im = new Image();
    im.onload = () => { img.src = im.src; setTimeout(next, 150); };
    im.onerror = () => setTimeout(next, 1000);
    im.src = "/snapshot.jpg" + q + sep + "n=" + Date.now();
  };
  next();
}
if (params.get("view") === "snapshot") { pollSnapshots(); }
else { img.onerror = pollSnapshots; img.src = "/stream.mjpg" + q; }
const ms = (v) => (v === null || v === undefined) ? "-" : v.toFixed(1) + " ms";
const set = (id, text) => { document.getElementById(id).textContent = text; };
async function poll() {
  try {
    const s = await (await fetch("/stats.json" + q, {cache: "no-store"})).json();
    set("reading", s.reading || "\\u00a0");
    set("source", s.source || "-");
    set("state", s.state || "-");
    const bad = /^(reconnecting|ended|stopped)/.test(s.state || "");
    document.getElementById("state").className = bad ? "bad" : "";
    const model = (s.model || "-").split("/").slice(-2).join("/");
    set("model", model + (s.backend ? " on " + s.backend : ""));
    set("fps", s.fps === null || s.fps === undefined ? "-" : s.fps.toFixed(1));
    set("proc", ms(s.processing_ms_p50) + " p50, " + ms(s.processing_ms_p99) + " p99");
    set("age", ms(s.age_ms_p50) + " p50, " + ms(s.age_ms_p99) + " p99");
    set("frames", String(s.frames ?? "-"));
    set("dropped", String(s.dropped ?? "-"));
    set("viewers", String(s.viewers ?? "-"));
  } catch (e) { set("state", "web view unreachable"); }
}
poll(); setInterval(poll, 500);
</script>
</body></html>
"""
