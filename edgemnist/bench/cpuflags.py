"""The CPU's instruction-set flags that decide what INT8 and FP16 kernels can do here.

INT8 speed-ups on CPU depend on integer dot-product instructions (x86: AVX-512 VNNI, AVX-VNNI,
AMX; ARM: ``asimddp`` = SDOT/UDOT, ``i8mm``), FP16 on native half-precision arithmetic. Results
that compare precisions record these next to the CPU model, as ``lscpu`` reports them.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path
from typing import Any, Dict, List, Union

#: flags worth naming in a result (the rest are kept in ``all``)
NOTABLE = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "i8mm",
    "fphp",
    "asimdhp",
    "sve",
)


def cpu_flags(cpuinfo: Union[str, Path] = "/proc/cpuinfo") -> Dict[str, Any]:
    """The model name and flags of the first CPU in ``cpuinfo``; never raises.

    Returns:
        ``{"model", "machine", "notable": [...], "int8_dot_product": bool, "all": [...]}``.
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    model = None
    for key in ("model name", "Model", "Hardware", "cpu model"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            model = m.group(1).strip()
            break
    m = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", text, re.MULTILINE)
    flags: List[str] = sorted(set(m.group(1).split())) if m else []
    notable = [f for f in NOTABLE if f in flags]
    dot = any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp"))
    return {
        "model": model,
        "machine": platform.machine(),
        "notable": notable,
        "int8_dot_product": dot,
        "all": flags,
    }
