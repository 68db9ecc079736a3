"""``edgemnist live SOURCE ARTIFACT``: read handwritten digits live from a camera or a file."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, ThreadsOpt, console, err_console, print_json
from edgemnist.formats import BackendChoice

#: seconds between two status lines when stderr is not a terminal (a service's journal)
LOG_STATUS_EVERY_S = 30.0


def live(
    source: Annotated[
        str,
        typer.Argument(
            help="0 | /dev/video0 | csi://0 | picam://0 | clip.mp4 | photos/ | rtsp://... | "
            "http://.../video.mjpg | gst://PIPELINE | synthetic://?digits=1-4&fps=30",
            show_default=False,
        ),
    ],
    artifact: Annotated[
        Path, typer.Argument(help="Model: .engine, .onnx, .int8.onnx or .pt.", show_default=False)
    ],
    backend: Annotated[
        BackendChoice,
        typer.Option("--backend", help="Who runs the model (auto picks one and says why)."),
    ] = BackendChoice.AUTO,
    threads: ThreadsOpt = None,
    providers: Annotated[
        Optional[str],
        typer.Option("--providers", help="ONNX Runtime providers: auto, or e.g. xnnpack,cpu."),
    ] = None,
    roi: Annotated[
        Optional[str],
        typer.Option("--roi", help="Only look inside x,y,w,h (source pixels).", show_default=False),
    ] = None,
    width: Annotated[Optional[int], typer.Option("--width", help="Ask the camera for it.")] = None,
    height: Annotated[Optional[int], typer.Option("--height", help="Ask the camera.")] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Ask the camera for it.")] = None,
    flip: Annotated[
        Optional[str],
        typer.Option("--flip", help="none, rotate-180, horizontal-flip, vertical-flip, ..."),
    ] = None,
    loop: Annotated[bool, typer.Option("--loop", help="Rewind files and folders.")] = False,
    realtime: Annotated[
        bool,
        typer.Option("--realtime", help="Play files at their frame rate, newest frame wins."),
    ] = False,
    web: Annotated[
        Optional[str],
        typer.Option(
            "--web",
            help="Serve a live view at [HOST:]PORT (127.0.0.1 unless a host is given; other "
            "hosts need a token). Port 0 picks a free one.",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        Optional[str],
        typer.Option(
            "--token",
            envvar="EDGEMNIST_LIVE_TOKEN",
            help="Web view access token (generated when binding beyond 127.0.0.1).",
            show_default=False,
        ),
    ] = None,
    max_viewers: Annotated[
        int, typer.Option("--max-viewers", min=1, help="Concurrent web streams.")
    ] = 4,
    jsonl: Annotated[
        Optional[Path],
        typer.Option("--jsonl", help="Write one JSON line per frame here.", show_default=False),
    ] = None,
    record: Annotated[
        Optional[Path],
        typer.Option(
            "--record", help="Record the annotated video (.avi, .mp4).", show_default=False
        ),
    ] = None,
    save_digits: Annotated[
        Optional[Path],
        typer.Option(
            "--save-digits", help="Save each stable digit (28x28) once here.", show_default=False
        ),
    ] = None,
    show: Annotated[
        Optional[bool],
        typer.Option(
            "--show/--no-show",
            help="Open a window (default: when a display exists).",
            show_default=False,
        ),
    ] = None,
    frames: Annotated[
        Optional[int], typer.Option("--frames", min=1, help="Stop after N processed frames.")
    ] = None,
    duration: Annotated[
        Optional[float], typer.Option("--duration", min=0.001, help="Stop after S seconds.")
    ] = None,
    json_out: JsonOpt = False,
    bench: Annotated[
        bool,
        typer.Option(
            "--bench",
            help="Also write the summary with this device's fingerprint to "
            "benchmarks/results/<host>/live-<model>.json.",
        ),
    ] = False,
) -> None:
    """Read handwritten digits live: every digit boxed, read and followed across frames.

    Captures in its own thread (always the newest frame), finds every digit, classifies all of
    a frame's digits in one batched call, votes per tracked digit, and shows the result in a
    window, a web page (--web), a JSON-lines file (--jsonl) or a recording (--record).
    Ctrl-C or SIGTERM stop it cleanly and print a timing summary (p50/p90/p99 per stage).
    """
    from edgemnist.live.loop import LiveConfig, parse_roi, run_live
    from edgemnist.live.window import decide_show

    show_window, note = decide_show(show, web is not None)
    if note and not json_out:
        err_console.print(f"[yellow]note:[/yellow] {note}", soft_wrap=True)
    runner_options: Dict[str, Any] = {}
    if threads is not None:
        runner_options["threads"] = threads
    if providers:
        runner_options["providers"] = providers
    config = LiveConfig(
        source=source,
        artifact=artifact,
        backend=backend.value,
        runner_options=runner_options,
        source_options={
            "width": width,
            "height": height,
            "fps": fps,
            "flip": flip,
            "loop": loop or None,
            "realtime": realtime or None,
        },
        roi=parse_roi(roi),
        web=web,
        token=token,
        max_viewers=max_viewers,
        jsonl=jsonl,
        record=record,
        save_digits=save_digits,
        show=show_window,
        frames=frames,
        duration=duration,
    )
    status = _StatusLine()
    summary = run_live(config, on_start=_print_start, on_status=status.update)
    status.finish()
    if bench:
        summary["bench_file"] = str(_write_bench(summary, artifact))
    if json_out:
        print_json(summary)
    else:
        _print_summary(summary)


def _print_start(info: Dict[str, Any]) -> None:
    """What runs, on stderr (stdout is kept for --json)."""
    reason = info.get("fallback_reason")
    if reason:
        err_console.print(f"[yellow]note:[/yellow] {reason}", soft_wrap=True)
    err_console.print(
        f"live: {info['source']} -> {info['model']} on {info['backend']}; stop with Ctrl-C",
        soft_wrap=True,
        highlight=False,
    )
    if info.get("web_url"):
        # one plain line, easy to find for people and scripts: "web view: http://..."
        err_console.print(f"web view: {info['web_url']}", soft_wrap=True, highlight=False)


class _StatusLine:
    """The live status on stderr: rewritten in place on a terminal, a line every
    :data:`LOG_STATUS_EVERY_S` seconds otherwise (systemd journal, pipes)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_log = time.monotonic()
        self.shown = False

    def update(self, status: Dict[str, Any]) -> None:
        from edgemnist.live.draw import status_line

        line = status_line(status, status.get("reading", ""), status.get("dropped"))
        state = status.get("state", "")
        if state and state not in ("running", "starting"):
            line = f"{line} | {state}"
        if self.tty:
            sys.stderr.write("\r" + line[:200] + "\x1b[K")
            sys.stderr.flush()
            self.shown = True
        elif time.monotonic() - self.last_log >= LOG_STATUS_EVERY_S:
            self.last_log = time.monotonic()
            sys.stderr.write(f"status: {line}\n")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print_summary(s: Dict[str, Any]) -> None:
    from rich.table import Table

    def ms(d: Optional[Dict[str, Any]], key: str) -> str:
        v = (d or {}).get(key)
        return "-" if v is None else f"{v:.2f}"

    fps = s.get("fps")
    cap = s.get("capture") or {}
    console.print(
        f"{s.get('frames', 0)} frames in {s.get('seconds', 0):.1f} s "
        f"({'-' if fps is None else f'{fps:.1f}'} FPS), stopped by {s.get('stopped_by')}; "
        f"captured {cap.get('frames')}, dropped {cap.get('dropped')}, "
        f"reopened {cap.get('reopens')}, bad {cap.get('bad_frames')}, "
        f"skipped {s.get('skipped', 0)}",
        soft_wrap=True,
        highlight=False,
    )
    table = Table(title="time per frame (ms)", title_justify="left")
    for col in ("stage", "n", "p50", "p90", "p99", "max"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    rows = dict(s.get("stages_ms") or {})
    rows["processing"] = s.get("processing_ms") or {}
    rows["frame age"] = s.get("age_ms") or {}
    for name, d in rows.items():
        table.add_row(name, str(d.get("n", 0)), *(ms(d, k) for k in ("p50", "p90", "p99", "max")))
    console.print(table)
    if s.get("reading"):
        console.print(f"reading: [bold]{s['reading']}[/bold]")
    for key, value in (s.get("outputs") or {}).items():
        console.print(f"{key}: {value}", soft_wrap=True, highlight=False)
    if s.get("bench_file"):
        console.print(f"benchmark written: {s['bench_file']}", soft_wrap=True)


def _write_bench(summary: Dict[str, Any], artifact: Path) -> Path:
    """The summary plus this device's fingerprint, as a benchmark result file."""
    from edgemnist.atomic import sha256_file, write_json
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.cli.bench import default_out_dir

    stem = artifact.name.split(".")[0] or "model"
    model_name = artifact.parent.name if stem == "model" else stem
    path = default_out_dir() / f"live-{model_name}.json"
    result = {
        "kind": "live",
        "command": sys.argv,
        "environment": fingerprint(models={str(artifact): sha256_file(artifact)}),
        "summary": summary,
    }
    return write_json(path, result)


def register(app: typer.Typer) -> None:
    """Add ``live`` to the root app."""
    app.command("live")(live)
