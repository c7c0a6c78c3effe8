"""Prometheus metrics (prometheus_client). Counters and histograms live per process; with
`serve --workers N` they are written to PROMETHEUS_MULTIPROC_DIR and summed at scrape time
(prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

HTTP_REQUESTS = Counter(
    "worklog360_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "worklog360_http_request_duration_seconds",
    "Time to answer a request, by method and route template.",
    ["method", "route"],
)
JOB_RUNS = Counter(
    "worklog360_job_runs_total",
    "Background job runs, by job and outcome (ok or failed).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "worklog360_job_duration_seconds", "Time a background job run took, by job.", ["job"]
)


OUTBOUND_REQUESTS = Counter(
    "worklog360_outbound_requests_total",
    "Calls to Jira, Forge and QuickBooks, by service, method, endpoint template and status "
    "(HTTP status, or the transport error when none came).",
    ["service", "method", "endpoint", "status"],
)
OUTBOUND_LATENCY = Histogram(
    "worklog360_outbound_request_duration_seconds",
    "Time to an outbound call's answer (its headers), by service.",
    ["service"],
)
WEBHOOK_LAG = Histogram(
    "worklog360_webhook_lag_seconds",
    "From the moment Jira says a worklog event happened to its commit here, by event.",
    ["event"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800),
)
# Read from the database when /metrics is scraped; every process reads the same figures,
# so in multiprocess mode the most recent process's reading is shown.
QUEUE_DEPTH = Gauge(
    "worklog360_job_queue_depth",
    "Jobs waiting (todo) or running (doing) in the queue, by queue (W360_JOBS=worker).",
    ["queue", "status"],
    multiprocess_mode="livemostrecent",
)
QBO_CONNECTIONS = Gauge(
    "worklog360_quickbooks_connections",
    "QuickBooks connections by state: connected, expiring (reconnect within 14 days), expired.",
    ["state"],
    multiprocess_mode="livemostrecent",
)
QBO_METERED_CALLS = Gauge(
    "worklog360_quickbooks_metered_calls_this_month",
    "Calls Intuit meters (2xx reads and queries) made to each company this calendar month (UTC).",
    ["realm_id"],
    multiprocess_mode="livemostrecent",
)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """`worklog360 worker --metrics-port`: a worker's own metrics, from a thread."""
    start_http_server(port, addr=host, registry=_registry())


def scrape() -> tuple[bytes, str]:
    """The text exposition of every metric, summed over processes in multiprocess mode."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST
