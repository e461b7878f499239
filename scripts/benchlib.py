"""What every benchmark records beside its numbers: the machine they were measured on."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def machine() -> str:
    """nproc, CPU model and Python version: what the latencies depend on."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cores}, {cpu}, Python {platform.python_version()}"
