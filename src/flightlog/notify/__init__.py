"""Notification pipeline with Alertmanager semantics.

Owns: the ``alerting:`` config (an ``alertmanager.yml`` as written), the routing tree,
aggregation groups and their timers, inhibition, silences, the persisted notification log,
and the receivers (webhook, Slack, PagerDuty Events v2, SMTP email, forwarding to an
Alertmanager). Takes ``flightlog.rules.alert.Alert`` values from the ruler (or the API).

Public names: ``AlertingConfig``, ``load_alerting_config``, ``Dispatcher``,
``Notification``, ``NotifyService``, ``SilenceStore``, ``NotificationLog``.
"""

from __future__ import annotations

from flightlog.notify.config import AlertingConfig, load_alerting_config
from flightlog.notify.dispatcher import Dispatcher, Notification
from flightlog.notify.nflog import NotificationLog
from flightlog.notify.service import NotifyService
from flightlog.notify.silences import SilenceStore

__all__ = [
    "AlertingConfig",
    "Dispatcher",
    "Notification",
    "NotificationLog",
    "NotifyService",
    "SilenceStore",
    "load_alerting_config",
]
