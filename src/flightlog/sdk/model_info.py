"""Describe a model object: class, parameter counts for PyTorch and Keras models.

Frameworks are never imported here: a model is recognised by the module its class comes
from, so describing a scikit-learn estimator does not import torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe_model"]


def _torch_counts(model: Any) -> dict[str, int]:
    total = trainable = 0
    for parameter in model.parameters():
        count = int(parameter.numel())
        total += count
        if parameter.requires_grad:
            trainable += count
    return {
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
    }


def _keras_counts(model: Any) -> dict[str, int]:
    total = int(model.count_params())
    trainable = 0
    for weight in getattr(model, "trainable_weights", []):
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        trainable += size
    return {
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
    }


def _framework(model: Any) -> str | None:
    for klass in type(model).__mro__:
        root = klass.__module__.split(".")[0]
        if root in (
            "torch",
            "keras",
            "tensorflow",
            "transformers",
            "lightning",
            "pytorch_lightning",
            "sklearn",
        ):
            return root
    return None


def describe_model(model: Any) -> dict[str, Any]:
    """``{"class", "framework", total/trainable/non_trainable params when countable}``."""
    info: dict[str, Any] = {"class": f"{type(model).__module__}.{type(model).__qualname__}"}
    framework = _framework(model)
    info["framework"] = framework
    if framework in ("torch", "transformers", "lightning", "pytorch_lightning") and callable(
        getattr(model, "parameters", None)
    ):
        info.update(_torch_counts(model))
    elif framework in ("keras", "tensorflow") and callable(getattr(model, "count_params", None)):
        info.update(_keras_counts(model))
    elif framework == "sklearn":
        info["params"] = {k: repr(v) for k, v in model.get_params().items()}
    return info
