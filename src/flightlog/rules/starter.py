"""The starter rule file ``flightlog rules init`` writes for an ML platform.

Severity tiers follow an error classifier: ``critical`` fires on any occurrence within 1
minute, ``high`` on at least 5 in 5 minutes, ``medium`` on at least 20 in 10 minutes.
Selectors assume a ``service`` label (and ``run_id`` for training jobs); adjust them.
``TrainingJobSilent`` leaves out runs that ended: a ``flightlog.Run`` ships an
``event="run_end"`` line when it finishes (``src/flightlog/sdk/FORMAT.md``), so only a run
that went quiet without one (hung, or killed) pages.
"""

from __future__ import annotations

__all__ = ["STARTER_RULES"]

STARTER_RULES = """\
# flightlog alert rules for an ML platform (Prometheus/Loki rule-group format, LogQL).
# Severity tiers: critical = any occurrence in 1m, high = >= 5 in 5m, medium = >= 20 in 10m.
# Check with: flightlog rules check <this file>
groups:
  - name: ml-platform-critical
    interval: 30s
    rules:
      - alert: CriticalLogLine
        expr: sum by (service) (count_over_time({service=~".+"} |~ "(?i)\\\\b(critical|fatal)\\\\b" [1m])) > 0
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.service }} logged a CRITICAL/FATAL line"
          description: "{{ $value }} critical or fatal lines in the last minute."
          runbook_url: https://runbooks.example.com/critical-log-line
      - alert: CudaOutOfMemory
        expr: sum by (service, run_id) (count_over_time({service=~".+"} |= "CUDA out of memory" [1m])) > 0
        labels: {severity: critical}
        annotations:
          summary: "CUDA out of memory in {{ $labels.service }} {{ $labels.run_id }}"
          description: "Reduce the batch size, enable gradient checkpointing or use a larger GPU."
          runbook_url: https://runbooks.example.com/cuda-oom
      - alert: NcclTimeout
        expr: sum by (service, run_id) (count_over_time({service=~".+"} |~ "(?i)nccl.*(timeout|timed out)|Watchdog caught collective operation timeout" [1m])) > 0
        labels: {severity: critical}
        annotations:
          summary: "NCCL collective timed out in {{ $labels.service }} {{ $labels.run_id }}"
          description: "A rank is stuck or the interconnect failed; distributed training will hang."
          runbook_url: https://runbooks.example.com/nccl-timeout

  - name: ml-platform-high
    interval: 1m
    rules:
      - alert: HighErrorRate
        expr: |
          sum by (service) (count_over_time({service=~".+"} |~ "(?i)\\\\berror\\\\b" [5m]))
            / sum by (service) (count_over_time({service=~".+"} [5m])) > 0.05
        for: 2m
        labels: {severity: high}
        annotations:
          summary: "{{ $labels.service }}: {{ $value | humanizePercentage }} of log lines are errors"
          runbook_url: https://runbooks.example.com/error-rate
      - alert: AuthenticationFailures
        expr: sum by (service) (count_over_time({service=~".+"} |~ "(?i)authentication failed|unauthorized|invalid token" [5m])) >= 5
        labels: {severity: high}
        annotations:
          summary: "{{ $value }} authentication failures in 5m on {{ $labels.service }}"
          runbook_url: https://runbooks.example.com/auth-failures
      - alert: ConnectionRefusedBurst
        expr: sum by (service) (count_over_time({service=~".+"} |~ "(?i)connection refused" [5m])) >= 5
        labels: {severity: high}
        annotations:
          summary: "{{ $labels.service }}: {{ $value }} connection refused errors in 5m"
          runbook_url: https://runbooks.example.com/connection-refused
      - alert: TrainingJobSilent
        expr: |
          sum by (run_id) (count_over_time({run_id=~".+"} [1h]))
            unless sum by (run_id) (count_over_time({run_id=~".+"} [15m]))
            unless sum by (run_id) (count_over_time({run_id=~".+"} |= "run_end" | json | event="run_end" [1h]))
        labels: {severity: high}
        annotations:
          summary: "Training run {{ $labels.run_id }} has logged nothing for 15 minutes"
          description: "The job may be hung (data loader, NCCL) or killed without a final log line. Runs that logged run_end (finished, failed or interrupted) are left out."
          runbook_url: https://runbooks.example.com/training-silent

  - name: ml-platform-medium
    interval: 1m
    rules:
      - alert: ErrorsAccumulating
        expr: sum by (service) (count_over_time({service=~".+"} |~ "(?i)\\\\berror\\\\b" [10m])) >= 20
        labels: {severity: medium}
        annotations:
          summary: "{{ $labels.service }}: {{ $value }} errors in 10m"
      - alert: WarningsAccumulating
        expr: sum by (service) (count_over_time({service=~".+"} |~ "(?i)\\\\bwarn(ing)?\\\\b" [10m])) >= 20
        labels: {severity: medium}
        annotations:
          summary: "{{ $labels.service }}: {{ $value }} warnings in 10m"

  - name: ml-platform-recording
    interval: 1m
    rules:
      - record: service:log_lines:rate1m
        expr: sum by (service) (rate({service=~".+"} [1m]))
      - record: service:log_errors:rate1m
        expr: sum by (service) (rate({service=~".+"} |~ "(?i)\\\\berror\\\\b" [1m]))
"""
