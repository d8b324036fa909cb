"""Shared by the benchmarks: time and peak memory of a child process."""

from __future__ import annotations

import statistics
import subprocess
import sys

_PROBE = (
    "import os, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_process(args: list[str], repeat: int = 1, env: dict | None = None) -> tuple[float, float]:
    """Median wall seconds and peak RSS (MB) of ``args``; a small parent per run keeps
    RUSAGE_CHILDREN's peak to this command alone."""
    times, peak = [], 0.0
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True, env=env).stdout.split()
        times.append(float(out[0]))
        peak = max(peak, int(out[1]) / 1024)
    return statistics.median(times), peak
