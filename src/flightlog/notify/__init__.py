"""Notification pipeline with Alertmanager semantics.

Owns: the ``alerting:`` config (an ``alertmanager.yml`` as written; every key it does not
read is a warning), the routing tree, aggregation groups and their timers, inhibition,
silences, the persisted notification log, notification templates (Alertmanager's data
and default template names, ``templates.py``) and the receivers (webhook, Slack,
PagerDuty Events v2, SMTP email, forwarding to an Alertmanager). Takes
``flightlog.rules.alert.Alert`` values from the ruler (or the API); alerts, groups and
silences are kept per tenant, and a tenant with its own ``alertmanager.yml``
(``alerting.tenants``, or one set through the API: ``tenant_configs.py``) is routed,
inhibited and notified by that tree alone; the others by the top-level one.

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
