"""``edgemnist data``: download (verified), info, preview.

Thin: parse options, call ``edgemnist.data``, render. numpy, OpenCV and the data modules are
imported inside the commands so that ``edgemnist data --help`` needs none of them.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, MirrorOpt, SetOpt, console, err_console, print_json
from edgemnist.errors import ConfigError

app = typer.Typer(
    help="MNIST data: verified download, info (counts, class balance, checksums), preview grid.",
    no_args_is_help=True,
)


class Split(str, Enum):
    """MNIST split (``edgemnist.data.mnist.SPLITS``)."""

    TRAIN = "train"
    TEST = "test"


SplitOpt = Annotated[Split, typer.Option("--split", help="Which split.")]


@app.command()
def download(
    mirror: MirrorOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Fetch again even where a verified copy exists.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Fetch the four MNIST files into the data directory and verify them.

    Tries --mirror (a URL or a local directory) first, then the canonical mirrors. Every file
    must match the SHA-256 of its content; the MD5 of the published .gz is reported too.
    """
    from edgemnist.data import mnist
    from edgemnist.paths import data_dir

    root = data_dir()
    # Progress goes to stderr so that --json keeps stdout machine-readable.
    statuses = mnist.download(
        root, mirror=mirror, force=force, on_event=lambda msg: err_console.print(f"  {msg}")
    )
    rows: List[Dict[str, Any]] = [
        {
            "file": s.name,
            "path": str(s.path) if s.path else None,
            "source": s.source,
            "sha256_ok": s.sha256_ok,
            "md5_gz_match": s.md5_gz_match,
        }
        for s in statuses
    ]
    if json_out:
        print_json({"data_dir": str(root), "files": rows})
        return
    from rich.table import Table

    table = Table(title=f"MNIST in {root}")
    table.add_column("file", no_wrap=True)
    table.add_column("source", overflow="fold")
    table.add_column("sha256 ok")
    table.add_column("published-gz md5")
    for r in rows:
        md5 = {True: "match", False: "differs"}.get(r["md5_gz_match"], "n/a (raw file)")
        table.add_row(r["file"], r["source"], "yes" if r["sha256_ok"] else "NO", md5)
    console.print(table)


@app.command()
def info(json_out: JsonOpt = False) -> None:
    """Show counts, class balance and checksums of the MNIST files in the data directory."""
    from edgemnist.data.info import dataset_info

    report = dataset_info()
    if json_out:
        print_json(report)
        return
    from rich.table import Table

    console.print(f"data directory: {report['data_dir']}")
    files = Table(title="files")
    files.add_column("file", no_wrap=True)
    files.add_column("bytes", justify="right")
    files.add_column("content sha256", overflow="fold")
    files.add_column("ok")
    for name, f in report["files"].items():
        files.add_row(name, str(f["bytes"]), f["sha256"], "yes" if f["sha256_ok"] else "NO")
    console.print(files)

    # One row per digit keeps the table narrow enough for an 80-column terminal.
    splits = report["splits"]
    balance = Table(title="class balance")
    balance.add_column("digit", justify="right")
    for split in splits:
        balance.add_column(f"{split} n", justify="right")
        balance.add_column(f"{split} %", justify="right")
    for digit in range(10):
        cells = []
        for s in splits.values():
            bal = s["class_balance"]
            cells += [str(bal["counts"][digit]), f"{100 * bal['fractions'][digit]:.2f}"]
        balance.add_row(str(digit), *cells)
    balance.add_section()
    total = []
    for s in splits.values():
        total += [str(s["count"]), f"min/max {s['class_balance']['min_max_ratio']:.2f}"]
    balance.add_row("all", *total)
    console.print(balance)
    for split, s in splits.items():
        console.print(f"{split}: pixel mean {s['pixel_mean']:.4f}, std {s['pixel_std']:.4f}")


def _parse_sets(items: Optional[List[str]]) -> Dict[str, Any]:
    """``key=value`` strings -> dict; values are JSON where they parse (numbers, lists)."""
    out: Dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


@app.command()
def preview(
    split: SplitOpt = Split.TRAIN,
    n: Annotated[int, typer.Option("--n", min=1, max=1024, help="Number of digits.")] = 64,
    augment: Annotated[
        bool, typer.Option("--augment", help="Show the digits after training augmentation.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the sample and augmentation.")] = 0,
    sets: SetOpt = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", help="PNG to write (default: EDGEMNIST_HOME/previews/...)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a PNG grid of (optionally augmented) digits, each titled with its label.

    --set key=value changes an augmentation parameter (rotation, scale, translate,
    elastic_alpha, elastic_sigma, elastic_p, noise_std), e.g. --set elastic_p=1.
    """
    import numpy as np

    from edgemnist.data.augment import AugmentConfig, Augmenter
    from edgemnist.data.mnist import load_split
    from edgemnist.data.preview import write_grid
    from edgemnist.paths import home

    overrides = _parse_sets(sets)
    if overrides and not augment:
        raise ConfigError("--set changes augmentation: add --augment")
    config = AugmentConfig.from_dict(overrides) if augment else None
    split_name = split.value
    images, labels = load_split(split_name)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(images), size=min(n, len(images)), replace=False))
    batch = images[idx]
    if config is not None:
        batch = Augmenter(config, seed=seed)(batch)
    if out is None:
        out = home() / "previews" / f"mnist-{split_name}{'-augmented' if augment else ''}.png"
    path = write_grid(out, batch, [str(int(v)) for v in labels[idx]])
    if json_out:
        print_json(
            {
                "path": str(path),
                "split": split_name,
                "indices": idx.tolist(),
                "labels": labels[idx].tolist(),
                "augment": config.to_dict() if config else None,
            }
        )
    else:
        console.print(
            f"wrote {path} ({len(idx)} {split_name} digits{', augmented' if augment else ''})"
        )
