"""What machine a benchmark ran on (shared by the benchmark scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else :func:`platform.processor`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tp_assets(*args: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run ``python -m tp_assets ARGS`` in a child; exit this script if it fails.

    Returns
    -------
    seconds, peak_mb, done
        Its wall time; its own peak resident memory, or that of its largest
        waited-for descendant (``os.wait4``'s ``ru_maxrss``, MB: not the largest of
        every child this script has run); its exit code and output.
    """
    cmd = [sys.executable, "-m", "tp_assets", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, code, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))
    if code != 0:
        raise SystemExit(f"tp-assets {' '.join(args)} failed ({code}):\n{done.stderr}")
    return seconds, usage.ru_maxrss / 1024.0, done
