"""The command line keeps freed memory in its process, so a large array reuses the last one's pages."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import resource, sys
import numpy as np
from graphsleuth.memory import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
np.ones(200 * 2**20 // 8)  # made and freed: 200 MB
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(200 * 2**20 // 8)
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults_of_a_second_array(mode: str) -> tuple[str, int]:
    """In a fresh Python (the setting is process-wide): page faults while a second 200 MB array is filled."""
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    kept, faults = done.stdout.split()
    return kept, int(faults)


def test_a_freed_large_array_is_reused_without_faulting_its_pages_again():
    kept, faults = _faults_of_a_second_array("keep")
    _, faults_by_default = _faults_of_a_second_array("default")
    assert kept == "True"
    assert faults_by_default > 100  # glibc gave the first array back to the kernel
    assert faults < faults_by_default / 10
