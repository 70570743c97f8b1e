"""``TorchStepLogger``: log a plain PyTorch training loop through a ``Run``.

    with flightlog.Run("mnist", config=cfg) as run:
        steps = TorchStepLogger(run, optimizer=optimizer, model=model, grad_norm_every=50)
        for epoch in range(1, epochs + 1):
            for inputs, targets in steps.batches(loader, epoch):
                loss = loss_fn(model(inputs), targets)
                loss.backward()
                steps.step(loss)          # after backward, so grad_norm sees the gradients
                optimizer.step(); optimizer.zero_grad()

It reads the learning rate from the optimizer, times data loading and the step, counts
steps, and computes the gradient norm every ``grad_norm_every`` steps (a full pass over
the parameters, so not every step by default). ``loss.item()`` synchronises a GPU; call
``step`` every ``every_n_steps`` to keep that off most steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from flightlog.sdk.run import Run

__all__ = ["TorchStepLogger", "gradient_norm"]


def gradient_norm(model: Any) -> float:
    """The L2 norm of all parameter gradients of ``model`` (0.0 when there are none)."""
    import torch

    norms = [p.grad.detach().norm(2) for p in model.parameters() if p.grad is not None]
    if not norms:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(norms), 2).item())


class TorchStepLogger:
    """Per-step logging for a PyTorch loop; see the module docstring."""

    def __init__(
        self,
        run: Run,
        optimizer: Any = None,
        model: Any = None,
        grad_norm_every: int | None = None,
        every_n_steps: int = 1,
    ) -> None:
        self.run = run
        self.optimizer = optimizer
        self.model = model
        self.grad_norm_every = grad_norm_every
        self.every_n_steps = max(1, every_n_steps)
        self.global_step = 0
        self.epoch: int | None = None
        self._batch_started: float | None = None
        self._data_time: float | None = None
        if model is not None:
            run.log_model_info(model)

    def batches(self, loader: Iterable[Any], epoch: int) -> Iterator[Any]:
        """Iterate ``loader``, timing how long each batch took to arrive (``data_time``)."""
        self.epoch = epoch
        self.run.start_epoch(epoch)
        iterator = iter(loader)
        while True:
            waited = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                break
            now = time.perf_counter()
            self._data_time = now - waited
            self._batch_started = now
            yield batch
        self.run.end_epoch(epoch)

    def step(self, loss: Any, **metrics: Any) -> None:
        """Record one optimisation step: loss, learning rate, timings, optional grad norm."""
        self.global_step += 1
        if self.global_step % self.every_n_steps:
            return
        values: dict[str, Any] = {"loss": loss.item() if hasattr(loss, "item") else float(loss)}
        if self.optimizer is not None:
            values["learning_rate"] = float(self.optimizer.param_groups[0]["lr"])
        if self._batch_started is not None:
            values["batch_time"] = time.perf_counter() - self._batch_started
        if self._data_time is not None:
            values["data_time"] = self._data_time
        if (
            self.grad_norm_every
            and self.model is not None
            and self.global_step % self.grad_norm_every == 0
        ):
            values["grad_norm"] = gradient_norm(self.model)
        values.update(metrics)
        self.run.log_batch(step=self.global_step, epoch=self.epoch, **values)
