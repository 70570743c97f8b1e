"""A real training job for the demo: an MLP on scikit-learn's digits, logged with the SDK.

Two runs: ``digits-mlp`` trains normally on most of the data; ``digits-overfit`` trains a
wide network without regularisation on a tiny subset, so validation loss turns upward
while training loss keeps falling — the analyzer's overfitting diagnosis then has
something true to find. Both sample CPU and memory every ``SYSTEM_METRICS_INTERVAL_SECS``
and at the end of every epoch (so a short run still has samples), which the run page's
System section draws.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import flightlog

SYSTEM_METRICS_INTERVAL_SECS = 1.0


def train_run(
    name: str, *, train_size: float, hidden: int, alpha: float, epochs: int, log_dir: str
) -> None:
    """Train one MLP with partial_fit, logging every mini-batch and every validation."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, train_size=train_size, random_state=0, stratify=y
    )
    batch_size = 32
    batches = max(1, int(np.ceil(len(x_train) / batch_size)))
    learning_rate = 0.01
    config = {
        "model": "MLPClassifier",
        "hidden_units": hidden,
        "alpha": alpha,
        "batch_size": batch_size,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "train_size": len(x_train),
    }
    model = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=alpha, learning_rate_init=learning_rate, random_state=0
    )
    classes = np.unique(y)
    rng = np.random.default_rng(0)
    best = float("inf")
    with flightlog.Run(
        name,
        config=config,
        dir=log_dir,
        system_metrics_interval_secs=SYSTEM_METRICS_INTERVAL_SECS,
    ) as run:
        run.log_model_info(model)
        step = 0
        for epoch in range(1, epochs + 1):
            run.start_epoch(epoch, total_epochs=epochs)
            order = rng.permutation(len(x_train))
            for batch in range(batches):
                index = order[batch * batch_size : (batch + 1) * batch_size]
                model.partial_fit(x_train[index], y_train[index], classes=classes)
                step += 1
                run.log_batch(
                    step=step, epoch=epoch, loss=float(model.loss_), learning_rate=learning_rate
                )
                run.progress(epoch, batch + 1, batches, epochs)
            train_loss = log_loss(y_train, model.predict_proba(x_train), labels=classes)
            val_loss = log_loss(y_val, model.predict_proba(x_val), labels=classes)
            val_accuracy = accuracy_score(y_val, model.predict(x_val))
            is_best = val_loss < best
            best = min(best, val_loss)
            run.log_validation(
                epoch,
                {
                    "loss": float(val_loss),
                    "accuracy": float(val_accuracy),
                    "train_loss": float(train_loss),
                },
                is_best=is_best,
            )
            run.end_epoch(epoch)
            run.log_system_metrics()


def main(argv: list[str] | None = None) -> None:
    """Run both demo trainings, shipping to the server given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True, help="flightlog server URL")
    parser.add_argument("--log-dir", default="flightlog-data/demo-runs")
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    flightlog.configure(server=args.server, labels={"service": "trainer", "env": "demo"})
    try:
        train_run(
            "digits-mlp",
            train_size=0.8,
            hidden=64,
            alpha=1e-3,
            epochs=args.epochs,
            log_dir=args.log_dir,
        )
        train_run(
            "digits-overfit",
            train_size=120,
            hidden=256,
            alpha=0.0,
            epochs=args.epochs,
            log_dir=args.log_dir,
        )
    finally:
        flightlog.shutdown()


if __name__ == "__main__":
    main()
