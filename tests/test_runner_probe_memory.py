"""The probe's memory figure is its own, not the peak of the (larger) process that started it."""

import subprocess
import sys

from bench.runner.probe import _own_rss_mb


def test_peak_rss_is_not_inherited_from_a_large_parent():
    ballast = bytearray(200 * 1024 * 1024)  # the harness process holding workloads and outputs
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
    code = "from bench.runner.probe import _own_rss_mb; print(_own_rss_mb('VmHWM'))"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(child.stdout) < 150, "the child reported its parent's peak memory"
    assert _own_rss_mb("VmHWM") >= 200  # and this process does see its own ballast
    del ballast
