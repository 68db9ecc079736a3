"""Preflight for engine builds on small boards (Jetson Nano 2/4 GB).

TensorRT builds on a 4 GB Nano are killed by the kernel's OOM killer unless the builder's
workspace is small, swap exists and memory is not spent on zram or the desktop. This reads
``/proc/meminfo``, ``/proc/swaps``, ``/sys/block/zram*`` and ``/proc/*/comm`` through a root
prefix (tests pass fake trees) and returns advice, one line per problem, with the fix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List

#: workspace on boards with <= 4 GB RAM (the Nano's known-good value)
SMALL_BOARD_WORKSPACE_MIB = 256
#: default workspace elsewhere
DEFAULT_WORKSPACE_MIB = 1024
SMALL_BOARD_RAM_MIB = 4 * 1024 + 512  # a "4 GB" Nano reports ~3.9 GiB; leave headroom
WANT_SWAP_MIB = 4 * 1024
_DESKTOPS = ("Xorg", "gnome-shell", "gdm3", "lightdm", "unity-settings-", "nautilus")


@dataclass
class Preflight:
    """Memory facts and advice for an engine build."""

    ram_mib: int
    available_mib: int
    swap_mib: int
    zram_mib: int
    small_board: bool
    desktop: List[str]
    workspace_mib: int
    advice: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _meminfo(root: Path) -> Dict[str, int]:
    out: Dict[str, int] = {}
    try:
        text = (root / "proc/meminfo").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) // 1024  # kB -> MiB
    return out


def _zram_mib(root: Path) -> int:
    total = 0
    try:
        lines = (root / "proc/swaps").read_text().splitlines()[1:]
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and "zram" in parts[0] and parts[2].isdigit():
            total += int(parts[2]) // 1024
    return total


def _desktop_processes(root: Path) -> List[str]:
    found = set()
    proc = root / "proc"
    try:
        entries = [p for p in proc.iterdir() if p.name.isdigit()]
    except OSError:
        return []
    for p in entries:
        try:
            comm = (p / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(_DESKTOPS):
            found.add(comm)
    return sorted(found)


def preflight(root: Path = Path("/"), workspace_mib: int = 0) -> Preflight:
    """Check memory before a TensorRT build.

    Args:
        root: filesystem root (``/`` on the device; a fake tree in tests).
        workspace_mib: workspace asked for on the command line (0: choose the default).

    Returns:
        A :class:`Preflight` with the workspace to use and advice lines.
    """
    root = Path(root)
    mem = _meminfo(root)
    ram = mem.get("MemTotal", 0)
    avail = mem.get("MemAvailable", 0)
    swap_total = mem.get("SwapTotal", 0)
    zram = _zram_mib(root)
    disk_swap = max(0, swap_total - zram)
    small = 0 < ram <= SMALL_BOARD_RAM_MIB
    desktop = _desktop_processes(root) if small else []
    default = SMALL_BOARD_WORKSPACE_MIB if small else DEFAULT_WORKSPACE_MIB
    ws = int(workspace_mib) if workspace_mib else default
    advice: List[str] = []
    if small:
        if disk_swap < WANT_SWAP_MIB:
            advice.append(
                f"only {disk_swap} MiB of disk swap on a {ram} MiB board: add 4 GB "
                "(sudo fallocate -l 4G /swapfile && sudo chmod 600 /swapfile && "
                "sudo mkswap /swapfile && sudo swapon /swapfile)"
            )
        if zram:
            advice.append(
                f"zram takes {zram} MiB of RAM as compressed swap: disable it for builds "
                "(sudo systemctl disable nvzramconfig && sudo reboot)"
            )
        if desktop:
            advice.append(
                f"the desktop is running ({', '.join(desktop)}): stop it while building "
                "(sudo systemctl isolate multi-user.target)"
            )
        if ws > SMALL_BOARD_WORKSPACE_MIB:
            advice.append(
                f"workspace {ws} MiB on a {ram} MiB board risks the OOM killer: use "
                f"--workspace {SMALL_BOARD_WORKSPACE_MIB}"
            )
    return Preflight(ram, avail, swap_total, zram, small, desktop, ws, advice)
