"""The agent's counters (Vector's component model: received, sent, dropped{reason}, errors)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from flightlog.metric_families import FamiliesPerRegistry

__all__ = ["AgentMetrics", "agent_metrics"]


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    read_lines: Counter
    read_bytes: Counter
    sent_lines: Counter
    sent_batches: Counter
    send_errors: Counter
    rejected_lines: Counter
    buffer_dropped_lines: Counter
    buffer_bytes: Gauge


def _build(registry: CollectorRegistry) -> AgentMetrics:
    return AgentMetrics(
        read_lines=Counter(
            "flightlog_collect_read_lines", "Lines read from inputs.", registry=registry
        ),
        read_bytes=Counter(
            "flightlog_collect_read_bytes", "Bytes read from inputs.", registry=registry
        ),
        sent_lines=Counter(
            "flightlog_collect_sent_lines", "Lines the server accepted.", registry=registry
        ),
        sent_batches=Counter(
            "flightlog_collect_sent_batches",
            "Batches the server accepted.",
            registry=registry,
        ),
        send_errors=Counter(
            "flightlog_collect_send_errors",
            "Failed send attempts (retried).",
            ["reason"],
            registry=registry,
        ),
        rejected_lines=Counter(
            "flightlog_collect_rejected_lines",
            "Lines in batches the server rejected as bad data (not retried).",
            registry=registry,
        ),
        buffer_dropped_lines=Counter(
            "flightlog_collect_buffer_dropped_lines",
            "Lines dropped because the on-disk buffer hit its bound (oldest first).",
            registry=registry,
        ),
        buffer_bytes=Gauge(
            "flightlog_collect_buffer_bytes",
            "Bytes waiting in the on-disk buffer.",
            registry=registry,
        ),
    )


_FAMILIES: FamiliesPerRegistry[AgentMetrics] = FamiliesPerRegistry()


def agent_metrics(registry: CollectorRegistry | None = None) -> AgentMetrics:
    """The agent's metrics in ``registry`` (default registry when None), created once."""
    return _FAMILIES.get(registry, _build)
