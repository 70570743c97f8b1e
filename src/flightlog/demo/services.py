"""A real two-service inference system for the demo: a gateway in front of a model server.

``gateway`` receives ``POST /classify``, forwards to ``model-server``'s ``POST /predict``
with the request's correlation ID, and both log through the SDK with their own ``service``
label, so one ID can be followed across the two streams. A traffic loop inside the
gateway process sends generated requests: most are valid digits, a few are malformed
(the model server answers 422) and a few hit a simulated overloaded GPU (500 with a CUDA
out-of-memory error in the log), so latency, errors and an alert are real.
"""

from __future__ import annotations

import argparse
import logging
import random
import threading
import time

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException, Request

import flightlog

log = logging.getLogger("flightlog.demo")


def build_model_server() -> FastAPI:
    """The model server: a logistic regression on the digits data set."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(x / 16.0, y)
    app = FastAPI(title="demo model server")
    app.add_middleware(flightlog.CorrelationIdMiddleware)

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, object]:
        body = await request.json()
        pixels = body.get("pixels") if isinstance(body, dict) else None
        started = time.perf_counter()
        if not isinstance(pixels, list) or len(pixels) != 64:
            log.warning(
                "rejected input", extra={"reason": "expected 64 pixels", "model_version": "v1"}
            )
            raise HTTPException(status_code=422, detail="expected 64 pixels")
        if body.get("simulate_oom"):
            log.error(
                "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity)",
                extra={"model_version": "v1", "error_type": "OutOfMemoryError"},
            )
            raise HTTPException(status_code=500, detail="inference failed")
        time.sleep(random.uniform(0.002, 0.03))
        proba = model.predict_proba(np.asarray([pixels], dtype=float) / 16.0)[0]
        label = int(np.argmax(proba))
        latency_ms = (time.perf_counter() - started) * 1000
        log.info(
            "prediction",
            extra={
                "prediction": label,
                "confidence": round(float(proba[label]), 4),
                "latency_ms": round(latency_ms, 2),
                "model_version": "v1",
            },
        )
        return {"prediction": label, "confidence": float(proba[label])}

    return app


def build_gateway(model_url: str) -> FastAPI:
    """The gateway: validates nothing, forwards everything, logs status and latency."""
    app = FastAPI(title="demo gateway")
    app.add_middleware(flightlog.CorrelationIdMiddleware)
    client = httpx.Client(
        base_url=model_url, timeout=5.0, event_hooks=flightlog.httpx_event_hooks()
    )

    @app.post("/classify")
    def classify(body: dict[str, object]) -> dict[str, object]:
        started = time.perf_counter()
        try:
            response = client.post("/predict", json=body)
        except httpx.HTTPError as error:
            log.error("model server unreachable: %s", error, extra={"status": 502})
            raise HTTPException(status_code=502, detail="model server unreachable") from None
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        level = logging.INFO if response.status_code < 400 else logging.ERROR
        log.log(
            level,
            "classify %s",
            response.status_code,
            extra={"status": response.status_code, "latency_ms": latency_ms},
        )
        if response.status_code >= 400:
            raise HTTPException(
                status_code=response.status_code, detail=response.json().get("detail")
            )
        return response.json()

    return app


def _serve(app: FastAPI, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server


def _wait_until_up(url: str, timeout_secs: float) -> None:
    """Wait until the model server answers, so the first requests are not refused."""
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)


def generate_traffic(gateway_url: str, requests: int, rate_per_s: float) -> None:
    """Send generated requests: valid digits, malformed bodies and simulated GPU overloads."""
    from sklearn.datasets import load_digits

    digits, _ = load_digits(return_X_y=True)
    rng = random.Random(7)
    with httpx.Client(base_url=gateway_url, timeout=10.0) as client:
        for _ in range(requests):
            roll = rng.random()
            if roll < 0.04:
                body: dict[str, object] = {"pixels": [1, 2, 3]}
            elif roll < 0.07:
                body = {"pixels": digits[rng.randrange(len(digits))].tolist(), "simulate_oom": True}
            else:
                body = {"pixels": digits[rng.randrange(len(digits))].tolist()}
            try:
                client.post("/classify", json=body)
            except httpx.HTTPError as error:
                log.warning("traffic request failed: %s", error)
            time.sleep(1.0 / rate_per_s)


def main(argv: list[str] | None = None) -> None:
    """Start one role (``model-server`` or ``gateway``) shipping its logs to the server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["model-server", "gateway"])
    parser.add_argument("--server", required=True, help="flightlog server URL")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-url", default="")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    args = parser.parse_args(argv)
    flightlog.configure(
        server=args.server, labels={"service": args.role, "env": "demo"}, level=logging.INFO
    )
    try:
        if args.role == "model-server":
            server = _serve(build_model_server(), args.port)
            while not server.should_exit:
                time.sleep(0.5)
        else:
            _wait_until_up(args.model_url, timeout_secs=120.0)
            server = _serve(build_gateway(args.model_url), args.port)
            generate_traffic(f"http://127.0.0.1:{args.port}", args.requests, args.rate)
            while not server.should_exit:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        flightlog.shutdown()


if __name__ == "__main__":
    main()
