"""``RunStatus``: the states a training run ends in, as written to its summary and ``run_end``."""

from __future__ import annotations

__all__ = ["RunStatus"]


class RunStatus:
    """Completion status written to the summary."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ABORTED = "aborted"  # the process exited without the run being finished
    TERMINATED = "terminated"  # SIGTERM (a scheduler's preemption), with handle_sigterm=True
