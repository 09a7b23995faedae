"""The resource limits of one submission's sandboxed runs, and the time its restarts may take."""

from __future__ import annotations

from dataclasses import dataclass

RESTART_BUDGET = 4  # a submission's runs together take at most this many run_seconds


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's run.

    ``timeout`` is the wall time each notebook cell may take; the whole run is stopped after
    :attr:`run_seconds`, which is also its CPU-time limit.
    """

    timeout: float = 60.0
    memory_mb: int = 2048
    processes: int = 64
    open_files: int = 1024
    file_mb: int = 64
    tmp_mb: int = 256
    output_kb: int = 64

    @property
    def run_seconds(self) -> float:
        return 2 * self.timeout + 30

    @property
    def total_seconds(self) -> float:
        """The wall time of all of a submission's runs together, restarts after a crash
        included: a run that would pass it is stopped then."""
        return RESTART_BUDGET * self.run_seconds

    @property
    def budget_mb(self) -> int:
        """The memory budget of a whole run: resident memory of all its processes together
        plus what its ``/tmp`` holds."""
        return self.memory_mb + self.tmp_mb

    def rlimits(self) -> dict[str, int]:
        return {
            "address_space": self.memory_mb * 2**20,
            "cpu_seconds": int(self.run_seconds) + 1,
            "processes": self.processes,
            "open_files": self.open_files,
            "file_size": self.file_mb * 2**20,
            "core": 0,
        }
