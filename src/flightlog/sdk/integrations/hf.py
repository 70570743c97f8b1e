"""``FlightlogCallback``: a Hugging Face ``transformers`` ``TrainerCallback`` writing a ``Run``.

    trainer = Trainer(..., callbacks=[FlightlogCallback(run)])

Training logs (``loss``, ``learning_rate``, ``grad_norm``, ...) become ``log_batch``
records at ``state.global_step``; logs with ``eval_`` keys become validation records
(prefix stripped); the ``TrainingArguments`` are the run's hyperparameters. The run is
finished at the end of training when the callback created it.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from flightlog.sdk.run import Run

__all__ = ["FlightlogCallback"]

_SKIPPED = {"epoch", "total_flos", "step"}


def _numbers(logs: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v) for k, v in logs.items() if isinstance(v, int | float) and k not in _SKIPPED
    }


class FlightlogCallback(TrainerCallback):  # type: ignore[misc]
    """Forwards the Trainer's logs and evaluations to a ``flightlog.Run``."""

    def __init__(self, run: Run | None = None, name: str = "hf-trainer", dir: str = "logs") -> None:
        self.run = run
        self._owns_run = run is None
        self._name = name
        self._dir = dir

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        if self.run is None:
            self.run = Run(self._name, dir=self._dir)
        self.run.log_hyperparameters(
            {k: v for k, v in args.to_dict().items() if isinstance(v, str | int | float | bool)}
        )
        if model is not None:
            self.run.log_model_info(model)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if self.run is None or not logs:
            return
        epoch = int(state.epoch) + 1 if state.epoch is not None else None
        evaluation = {
            k[len("eval_") :]: v for k, v in _numbers(logs).items() if k.startswith("eval_")
        }
        training = {
            k: v for k, v in _numbers(logs).items() if not k.startswith(("eval_", "train_"))
        }
        if evaluation:
            self.run.log_validation(epoch or 0, evaluation)
        if training:
            self.run.log_batch(step=state.global_step, epoch=epoch, **training)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and self._owns_run:
            self.run.finish()
