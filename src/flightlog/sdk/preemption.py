"""SIGTERM handling for a run: write the summary, then die of the signal as before.

SLURM and Kubernetes preempt a job with SIGTERM; without a handler the process dies
before ``atexit`` runs and the run has no summary. Installed by ``Run`` only with
``handle_sigterm=True``, since a signal handler is process-wide.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install_sigterm_handler"]


def install_sigterm_handler(on_terminate: Callable[[], object]) -> None:
    """On SIGTERM call ``on_terminate``, then hand the signal to the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        on_terminate()
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signum)  # default action: exit with the signal's status

    signal.signal(signal.SIGTERM, on_sigterm)
