"""``FlightlogLightningLogger``: a PyTorch Lightning logger writing a ``flightlog.Run``.

    trainer = lightning.Trainer(logger=FlightlogLightningLogger("mnist", dir="logs"))

Metrics whose name starts with ``val`` become validation records, the rest ``log_batch``
records at Lightning's step; hyperparameters are logged once; ``finalize`` ends the run
with Lightning's status ("success" -> completed, else failed).
"""

from __future__ import annotations

from argparse import Namespace
from typing import Any

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the standalone ``pytorch_lightning`` distribution
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
    from pytorch_lightning.utilities import rank_zero_only

from flightlog.sdk.run import Run, RunStatus

__all__ = ["FlightlogLightningLogger"]


class FlightlogLightningLogger(Logger):  # type: ignore[misc]
    """Lightning ``Logger`` backed by a ``flightlog.Run``."""

    def __init__(self, name: str = "lightning", dir: str = "logs", **run_options: Any) -> None:
        super().__init__()
        self._name = name
        self._dir = dir
        self._run_options = run_options
        self._run: Run | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self.experiment.run_id

    @property
    @rank_zero_experiment
    def experiment(self) -> Run:
        if self._run is None:
            self._run = Run(self._name, dir=self._dir, **self._run_options)
        return self._run

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self.experiment.log_hyperparameters(values)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        numbers = {k: float(v) for k, v in metrics.items() if k != "epoch"}
        epoch = int(metrics["epoch"]) + 1 if "epoch" in metrics else None
        validation = {k: v for k, v in numbers.items() if k.startswith("val")}
        training = {k: v for k, v in numbers.items() if not k.startswith("val")}
        if validation:
            self.experiment.log_validation(epoch or 0, validation)
        if training:
            self.experiment.log_batch(step=step, epoch=epoch, **training)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is not None:
            self._run.finish(RunStatus.COMPLETED if status == "success" else RunStatus.FAILED)
