"""Framework integrations, each with the real framework on CPU and a tiny model.

Frameworks are optional extras and not test dependencies: a test is skipped, with the
reason, when its framework is not installed.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import flightlog


def _records(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_integrations_package_imports_no_framework() -> None:
    """Importing the integrations package pulls in no framework."""
    import subprocess
    import sys

    code = "import sys, flightlog.sdk.integrations; assert not {'torch','transformers','keras','lightning'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_torch_step_logger_on_a_real_loop(tmp_path: Path) -> None:
    """A real PyTorch loop logs loss, lr, timings, grad norm and model size through a Run."""
    torch = pytest.importorskip("torch", reason="torch is an optional extra (flightlog[torch])")
    from flightlog.sdk.integrations.torch_loop import TorchStepLogger

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = [(torch.randn(4, 8), torch.randint(0, 2, (4,))) for _ in range(5)]
    with flightlog.Run("torch", dir=tmp_path) as run:
        steps = TorchStepLogger(run, optimizer=optimizer, model=model, grad_norm_every=2)
        for epoch in (1, 2):
            for inputs, targets in steps.batches(data, epoch):
                loss = torch.nn.functional.cross_entropy(model(inputs), targets)
                loss.backward()
                steps.step(loss)  # after backward: the gradient norm sees this step's grads
                optimizer.step()
                optimizer.zero_grad()
    records = _records(tmp_path / "torch_metrics.jsonl")
    batches = [r for r in records if r["event"] == "metrics"]
    assert [b["step"] for b in batches] == list(range(1, 11))
    assert all(
        b["learning_rate"] == 0.1 and b["data_time"] >= 0 and b["batch_time"] >= 0 for b in batches
    )
    assert [b["step"] for b in batches if "grad_norm" in b] == [2, 4, 6, 8, 10]
    assert all(b["grad_norm"] > 0 for b in batches if "grad_norm" in b)
    model_record = next(r for r in records if r["event"] == "model")
    assert model_record["model"]["total_params"] == 8 * 16 + 16 + 16 * 2 + 2
    assert model_record["model"]["framework"] == "torch"
    summary = orjson.loads((tmp_path / "torch_summary.json").read_bytes())
    assert summary["counts"]["epochs_completed"] == 2


@pytest.mark.slow
def test_torch_gradient_norm_matches_torch(tmp_path: Path) -> None:
    """gradient_norm equals torch's own total-norm computation."""
    torch = pytest.importorskip("torch", reason="torch is an optional extra (flightlog[torch])")
    from flightlog.sdk.integrations.torch_loop import gradient_norm

    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    expected = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"), norm_type=2)
    assert gradient_norm(model) == pytest.approx(float(expected))


@pytest.mark.slow
def test_hf_trainer_callback(tmp_path: Path) -> None:
    """A tiny transformers Trainer run writes train and eval records through the callback."""
    pytest.importorskip("transformers", reason="transformers is an optional extra (flightlog[hf])")
    torch = pytest.importorskip("torch", reason="the HF Trainer needs torch")
    from transformers import Trainer, TrainingArguments

    from flightlog.sdk.integrations.hf import FlightlogCallback

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
            logits = self.linear(x)
            loss = torch.nn.functional.cross_entropy(logits, labels)
            return {"loss": loss, "logits": logits}

    dataset = [{"x": torch.randn(4), "labels": torch.tensor(i % 2)} for i in range(16)]
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        logging_steps=1,
        eval_strategy="epoch",
        report_to=[],
        use_cpu=True,
    )
    with flightlog.Run("hf", dir=tmp_path) as run:
        Trainer(
            model=Tiny(),
            args=args,
            train_dataset=dataset,
            eval_dataset=dataset,
            callbacks=[FlightlogCallback(run)],
        ).train()
    records = _records(tmp_path / "hf_metrics.jsonl")
    assert any(r["event"] == "metrics" and "loss" in r for r in records)
    assert any(r["event"] == "validation" and "loss" in r["metrics"] for r in records)


@pytest.mark.slow
def test_lightning_logger(tmp_path: Path) -> None:
    """A tiny Lightning fit writes its logged metrics through the logger."""
    lightning = pytest.importorskip(
        "lightning", reason="lightning is an optional extra (flightlog[lightning])"
    )
    torch = pytest.importorskip("torch", reason="lightning needs torch")
    from flightlog.sdk.integrations.lightning import FlightlogLightningLogger

    class Tiny(lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 1)

        def training_step(self, batch: tuple, index: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.linear(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(16, 4), torch.randn(16, 1)), batch_size=4
    )
    logger = FlightlogLightningLogger("pl", dir=str(tmp_path))
    lightning.Trainer(
        max_epochs=2,
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        accelerator="cpu",
    ).fit(Tiny(), data)
    records = _records(tmp_path / "pl_metrics.jsonl")
    assert any(r["event"] == "metrics" and "train_loss" in r for r in records)


@pytest.mark.slow
def test_keras_callback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny Keras fit writes batch and validation records through the callback."""
    import os

    # Keras 3 needs a backend; torch is the one an ML team using this SDK most likely has.
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    keras = pytest.importorskip("keras", reason="keras is an optional extra (flightlog[keras])")
    import numpy as np

    from flightlog.sdk.integrations.keras import FlightlogKerasCallback

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.rand(16, 4), np.random.rand(16, 1)
    with flightlog.Run("keras", dir=tmp_path) as run:
        model.fit(
            x,
            y,
            epochs=2,
            batch_size=4,
            validation_data=(x, y),
            verbose=0,
            callbacks=[FlightlogKerasCallback(run)],
        )
    records = _records(tmp_path / "keras_metrics.jsonl")
    assert sum(r["event"] == "metrics" for r in records) == 8
    assert sum(r["event"] == "validation" for r in records) == 2
