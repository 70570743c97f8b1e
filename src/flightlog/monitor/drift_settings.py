"""The drift thresholds a user may set, validated at the edge and turned into a ``DriftConfig``.

The same five options are keys of each ``monitor.drift_checks`` entry in
``flightlog.yaml`` and flags of ``flightlog drift``:

=========================  ==========================  =======  ==============================
config key                 ``flightlog drift`` flag     default  meaning
=========================  ==========================  =======  ==============================
``psi_warning``            ``--psi-warning``            0.1      PSI at which a feature warns
``psi_alert``              ``--psi-alert``              0.2      PSI at which a large sample alerts
``p_value_alpha``          ``--p-value-alpha``          0.05     KS / chi-square p below it alerts
``psi_bins``               ``--psi-bins``               10       quantile bins of numeric PSI
``small_sample_max_rows``  ``--small-sample-max-rows``  1000     up to it the p-value decides
=========================  ==========================  =======  ==============================

``DriftSettings`` is the pydantic model (unknown keys and bad values are errors naming
the key); ``drift_config(values, where=...)`` validates a mapping and returns the frozen
``DriftConfig`` the drift rule takes, raising ``ConfigError`` whose message names the
key under ``where`` (``monitor.drift_checks.0.psi_alert = 0.05: ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from flightlog.monitor.drift import DriftConfig

__all__ = ["DRIFT_SETTING_KEYS", "DriftSettings", "drift_config"]

_DEFAULTS = DriftConfig()


class DriftSettings(BaseModel):
    """User-settable thresholds of the drift rule (see ``flightlog.monitor.drift``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi_warning: float = Field(_DEFAULTS.psi_warning, gt=0)
    psi_alert: float = Field(_DEFAULTS.psi_alert, gt=0)
    p_value_alpha: float = Field(_DEFAULTS.p_value_alpha, gt=0, lt=1)
    psi_bins: int = Field(_DEFAULTS.psi_bins, ge=2, le=1_000)
    small_sample_max_rows: int = Field(_DEFAULTS.small_sample_max_rows, ge=1)

    @pydantic.field_validator("psi_alert")
    @classmethod
    def _alert_not_below_warning(cls, value: float, info: pydantic.ValidationInfo) -> float:
        warning = info.data.get("psi_warning")
        if warning is not None and value < warning:
            raise ValueError(f"must be at least the PSI warning level ({warning:g})")
        return value

    def to_drift_config(self) -> DriftConfig:
        return DriftConfig(
            psi_warning=self.psi_warning,
            psi_alert=self.psi_alert,
            p_value_alpha=self.p_value_alpha,
            psi_bins=self.psi_bins,
            small_sample_max_rows=self.small_sample_max_rows,
        ).validate()


DRIFT_SETTING_KEYS: tuple[str, ...] = tuple(DriftSettings.model_fields)


def drift_config(values: Mapping[str, Any], where: str = "") -> DriftConfig:
    """Validate the threshold keys of ``values`` (others are not allowed); ConfigError names them."""
    from flightlog.config import config_error

    try:
        settings = DriftSettings.model_validate(dict(values))
    except pydantic.ValidationError as error:
        raise config_error(error, prefix=where) from None
    return settings.to_drift_config()
