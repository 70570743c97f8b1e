"""A real model server for monitor tests: a scikit-learn classifier behind FastAPI, on uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from flightlog.monitor.metrics import ModelMonitor
from flightlog.monitor.middleware import ModelMonitorMiddleware
from flightlog.monitor.prediction_log import PredictionLogger

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class PredictRequest(BaseModel):
    features: dict[str, float]


class LabelRequest(BaseModel):
    prediction: int
    label: int


def build_app(registry: CollectorRegistry, logger: PredictionLogger | None) -> FastAPI:
    """Iris logistic regression: /predict (context manager inside), /label, /metrics."""
    data = load_iris()
    model = LogisticRegression(max_iter=500).fit(data.data, data.target)
    request_monitor = ModelMonitor("iris-http", "1", registry=registry)
    model_monitor = ModelMonitor("iris", "1", registry=registry, prediction_logger=logger)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, object]:
        with model_monitor.predict(body.features) as timer:
            missing = [name for name in FEATURES if name not in body.features]
            if missing:
                # Raised inside the timer: counted as an error, answered as a 500.
                raise HTTPException(500, f"missing features {missing}")
            row = np.array([[body.features[name] for name in FEATURES]])
            probabilities = model.predict_proba(row)[0]
            label = int(np.argmax(probabilities))
            timer.result(label, float(probabilities[label]))
        return {"prediction": label, "confidence": float(probabilities[label])}

    @app.post("/label")
    def label(body: LabelRequest) -> dict[str, str]:
        model_monitor.record_label(body.prediction, body.label)
        return {"status": "ok"}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    app.add_middleware(ModelMonitorMiddleware, monitor=request_monitor, paths=("/predict",))
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
