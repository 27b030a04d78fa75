"""Provisioning ready members into the CQMR through SCIM 2.0 (RFC 7643/7644).

`readiness` decides who should be active there (what the gate computes); `services` records, at
each commit (the commit pipeline's provisioning stage, after the progress projection's), when
that changes and queues a "scim" outbox message; `scim` is the outbox handler that makes the
calls; `cli` is `flask provisioning sync`."""
