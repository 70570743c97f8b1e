"""Produce the real-framework golden logs under tests/analyze/golden/ (run once, by hand).

Each scenario is a tiny training script run in a subprocess with stdout and stderr
redirected to the log file, exactly as a user's `python train.py > train.log 2>&1`.
It needs a throwaway virtualenv with the frameworks (never the project's .venv):

    python3 -m venv /tmp/fixtures-venv
    /tmp/fixtures-venv/bin/pip install scikit-learn xgboost lightgbm torch==2.13.0 \
        keras transformers accelerate lightning tqdm
    /tmp/fixtures-venv/bin/python tests/analyze/make_fixtures/make_fixtures.py [NAME...]

Everything runs on CPU on tiny synthetic data in seconds; seeds are fixed but framework
output (timings) differs between runs, so the expected tables are regenerated with
`.venv/bin/python tests/analyze/make_fixtures/make_expected.py` afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

SCENARIOS: dict[str, tuple[str, str]] = {}


def scenario(directory: str, name: str, code: str) -> None:
    SCENARIOS[f"{directory}/{name}"] = (directory, textwrap.dedent(code))


scenario(
    "sklearn",
    "mlp_overfit.log",
    """
    import numpy as np
    from sklearn.neural_network import MLPRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 30)); y = X[:, 0] + rng.normal(size=80) * 2.0
    MLPRegressor(hidden_layer_sizes=(256,), max_iter=150, verbose=True, random_state=0,
                 early_stopping=True, validation_fraction=0.3, n_iter_no_change=1000,
                 tol=0.0, learning_rate_init=0.003).fit(X, y)
""",
)
scenario(
    "sklearn",
    "mlp_plateau.log",
    """
    import numpy as np
    from sklearn.neural_network import MLPRegressor
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5)); y = X @ rng.normal(size=5) + rng.normal(size=300)
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=400, verbose=True, random_state=0,
                 learning_rate_init=0.01, n_iter_no_change=1000, tol=0.0).fit(X, y)
""",
)
scenario(
    "sklearn",
    "mlp_diverge.log",
    """
    import warnings
    import numpy as np
    from sklearn.neural_network import MLPRegressor
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 5)) * 100; y = X @ rng.normal(size=5) * 100
    try:
        MLPRegressor(hidden_layer_sizes=(32,), max_iter=30, verbose=True, random_state=0,
                     learning_rate_init=10.0, solver="sgd", momentum=0.99,
                     n_iter_no_change=1000, tol=0.0).fit(X, y)
    except ValueError as exc:
        print(f"ValueError: {exc}")
""",
)
scenario(
    "sklearn",
    "sgd.log",
    """
    import numpy as np
    from sklearn.linear_model import SGDRegressor
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 4)); y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(size=400) * 0.1
    SGDRegressor(max_iter=12, tol=None, verbose=1, random_state=0).fit(X, y)
""",
)
scenario(
    "xgboost",
    "xgb_eval.log",
    """
    import numpy as np
    import xgboost as xgb
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 8)); y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=40, max_depth=6, learning_rate=0.3, eval_metric="logloss")
    model.fit(X[:300], y[:300], eval_set=[(X[:300], y[:300]), (X[300:], y[300:])], verbose=True)
""",
)
scenario(
    "lightgbm",
    "lgb_eval.log",
    """
    import numpy as np
    import lightgbm as lgb
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 8)); y = (X[:, 0] + rng.normal(size=500) > 0).astype(int)
    train = lgb.Dataset(X[:400], y[:400]); valid = lgb.Dataset(X[400:], y[400:], reference=train)
    lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 63,
               "learning_rate": 0.2, "min_data_in_leaf": 2, "verbose": -1},
              train, num_boost_round=60, valid_sets=[train, valid], valid_names=["training", "valid_1"],
              callbacks=[lgb.log_evaluation(1), lgb.early_stopping(10)])
""",
)
scenario(
    "xgboost",
    "xgb_cv.log",
    """
    import numpy as np
    import xgboost as xgb
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 8)); y = X[:, 0] * 2 + rng.normal(size=400)
    xgb.cv({"max_depth": 6, "eta": 0.3, "objective": "reg:squarederror"}, xgb.DMatrix(X, y),
           num_boost_round=30, nfold=3, metrics=["rmse", "mae"], verbose_eval=True, seed=0)
""",
)
scenario(
    "lightgbm",
    "lgb_cv.log",
    """
    import numpy as np
    import lightgbm as lgb
    rng = np.random.default_rng(7)
    X = rng.normal(size=(500, 8)); y = (X[:, 0] + rng.normal(size=500) > 0).astype(int)
    lgb.cv({"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 63,
            "learning_rate": 0.2, "min_data_in_leaf": 2, "verbose": -1},
           lgb.Dataset(X, y), num_boost_round=40, nfold=3, stratified=True, seed=0,
           callbacks=[lgb.log_evaluation(1), lgb.early_stopping(10)])
""",
)
scenario(
    "lightgbm",
    "lgb_cv_train_metric.log",
    """
    import numpy as np
    import lightgbm as lgb
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 6)); y = X[:, 0] + rng.normal(size=300) * 0.5
    lgb.cv({"objective": "regression", "metric": "l2", "learning_rate": 0.3, "verbose": -1},
           lgb.Dataset(X, y), num_boost_round=15, nfold=3, stratified=False, seed=0,
           eval_train_metric=True,
           callbacks=[lgb.log_evaluation(1)])
""",
)
KERAS_MODEL = """
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(256, 20)).astype("float32"); y = (X[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
"""
scenario(
    "keras",
    "keras3_verbose1.log",
    KERAS_MODEL
    + """
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=6, batch_size=16, validation_split=0.25, verbose=1)
    model.evaluate(X[:64], y[:64], verbose=1)
""",
)
scenario(
    "keras",
    "keras3_verbose2.log",
    KERAS_MODEL
    + """
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=5, batch_size=32, validation_split=0.25, verbose=2)
""",
)
scenario(
    "keras",
    "keras3_nan.log",
    KERAS_MODEL
    + """
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(1)])  # linear: explodes
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    model.fit(X * 100, y * 100, epochs=4, batch_size=16, verbose=1,
              callbacks=[keras.callbacks.TerminateOnNaN()])
""",
)
scenario(
    "huggingface",
    "trainer.log",
    """
    import os, json, shutil
    os.environ["TRANSFORMERS_OFFLINE"] = "1"; os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np, torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2)
    model = BertForSequenceClassification(config)
    rng = np.random.default_rng(7)
    class Data(torch.utils.data.Dataset):
        def __init__(self, n): self.x = rng.integers(0, 64, (n, 12)); self.y = rng.integers(0, 2, n)
        def __len__(self): return len(self.y)
        def __getitem__(self, i):
            return {"input_ids": torch.tensor(self.x[i]), "labels": torch.tensor(int(self.y[i]))}
    out = "/tmp/hf-fixture-out"; shutil.rmtree(out, ignore_errors=True)
    args = TrainingArguments(output_dir=out, num_train_epochs=4, per_device_train_batch_size=8,
                             logging_steps=2, eval_strategy="epoch", save_strategy="no",
                             report_to=[], use_cpu=True, seed=0, learning_rate=5e-4)
    trainer = Trainer(model=model, args=args, train_dataset=Data(64), eval_dataset=Data(32))
    trainer.train()
    trainer.state.save_to_json(os.environ["STATE_OUT"])
""",
)
scenario(
    "lightning",
    "lightning.log",
    """
    import os, shutil
    import torch, lightning as L
    from lightning.pytorch.loggers import CSVLogger
    torch.manual_seed(0)
    class Module(L.LightningModule):
        def __init__(self):
            super().__init__(); self.net = torch.nn.Linear(8, 1)
        def training_step(self, batch, _):
            x, y = batch; loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True); return loss
        def validation_step(self, batch, _):
            x, y = batch; self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y), prog_bar=True)
        def configure_optimizers(self): return torch.optim.SGD(self.parameters(), lr=0.05)
    x = torch.randn(256, 8); y = x.sum(1, keepdim=True)
    data = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    out = "/tmp/lightning-fixture-out"; shutil.rmtree(out, ignore_errors=True)
    from lightning.pytorch.callbacks import TQDMProgressBar
    trainer = L.Trainer(max_epochs=5, accelerator="cpu", logger=CSVLogger(out, name="csv"),
                        callbacks=[TQDMProgressBar(refresh_rate=1)],
                        enable_checkpointing=False, log_every_n_steps=4, enable_model_summary=False)
    trainer.fit(Module(), loader, loader)
    shutil.copy(trainer.logger.log_dir + "/metrics.csv", os.environ["CSV_OUT"])
""",
)


def run(key: str) -> None:
    directory, code = SCENARIOS[key]
    name = key.split("/", 1)[1]
    target = GOLDEN / directory
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONUNBUFFERED="1", CUDA_VISIBLE_DEVICES="")
    env["STATE_OUT"] = str(target / "trainer_state.json")
    env["CSV_OUT"] = str(target / "metrics.csv")
    with open(target / name, "wb") as log:
        result = subprocess.run(
            [sys.executable, "-c", code],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=600,
            check=False,
        )
    print(f"{key}: exit {result.returncode}, {(target / name).stat().st_size} bytes")


if __name__ == "__main__":
    for key in sys.argv[1:] or list(SCENARIOS):
        run(key)
