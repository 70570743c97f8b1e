"""``FlightlogKerasCallback``: a Keras callback writing a ``flightlog.Run``.

    model.fit(x, y, validation_data=..., callbacks=[FlightlogKerasCallback(run)])

Batch logs become ``log_batch`` records (global step across epochs); at each epoch end
the ``val_`` metrics become a validation record (prefix stripped) and the epoch is closed.
"""

from __future__ import annotations

from typing import Any

import keras

from flightlog.sdk.run import Run

__all__ = ["FlightlogKerasCallback"]


class FlightlogKerasCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Forwards Keras training logs to a ``flightlog.Run``."""

    def __init__(self, run: Run, log_every_n_batches: int = 1) -> None:
        super().__init__()
        self.run = run
        self.every = max(1, log_every_n_batches)
        self.global_step = 0
        self.epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.model is not None:
            self.run.log_model_info(self.model)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch + 1
        self.run.start_epoch(self.epoch, self.params.get("epochs") if self.params else None)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if logs and self.global_step % self.every == 0:
            numbers = {
                k: float(v)
                for k, v in logs.items()
                if isinstance(v, int | float) or hasattr(v, "__float__")
            }
            self.run.log_batch(step=self.global_step, epoch=self.epoch, **numbers)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        validation = {k[len("val_") :]: float(v) for k, v in logs.items() if k.startswith("val_")}
        if validation:
            self.run.log_validation(self.epoch, validation)
        self.run.end_epoch(
            self.epoch, {k: float(v) for k, v in logs.items() if not k.startswith("val_")}
        )
