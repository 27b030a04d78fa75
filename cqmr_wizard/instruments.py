"""The app's Prometheus counters and histograms, created once per process.

Under gunicorn, `gunicorn_conf` sets PROMETHEUS_MULTIPROC_DIR before any worker imports
prometheus_client: each worker then writes its values to files there and a scrape of any one
worker adds them all up (`ops/metrics.py`). Without it (`flask run`, the tests) they live in
this process's default registry. What the database knows (outbox, provisioning, the audit
chain's verification) is not counted here but read at scrape time (`ops/collector.py`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

http_requests = Counter(
    "cqmr_http_requests",
    "Requests answered, by URL rule (never the raw path), method and status.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "cqmr_http_request_duration_seconds",
    "Seconds from the first request hook to the response, by URL rule and method.",
    ["route", "method"],
)
outbox_deliveries = Counter(
    "cqmr_outbox_deliveries",
    "Outbox delivery attempts by kind and result: sent, retry (failed, will be retried), "
    "failed (gave up after OUTBOX_MAX_ATTEMPTS).",
    ["kind", "result"],
)
sign_in_failures = Counter(
    "cqmr_sign_in_failures",
    "Refused sign-ins (committed auth.sign_in_failed audit events).",
)
sign_in_throttled = Counter(
    "cqmr_sign_in_throttled",
    "Password sign-ins refused because this source must wait for this address (429).",
)
gate_opens = Counter(
    "cqmr_gate_opens",
    "People sent on to the CQMR (committed gate.redirected audit events).",
)
gate_refusals = Counter(
    "cqmr_gate_refusals",
    "Gate refusals: tasks_missing (gate.refused), not_configured (gate.unavailable).",
    ["reason"],
)
