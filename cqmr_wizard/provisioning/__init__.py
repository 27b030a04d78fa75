"""Provisioning ready members into the CQMR through SCIM 2.0 (RFC 7643/7644).

`readiness` decides who should be active there (what the gate computes), `services` records at
each commit (riding on the progress projection's change tracking) when that changes and queues
a "scim" outbox message, `scim` is the outbox handler that makes the calls, `cli` is
`flask provisioning sync`."""


def install_provisioning() -> None:
    """Reconcile, at each commit, the organizations whose progress projection it refreshed."""
    from ..tasks.projection import at_commit
    from .services import reconcile_at_commit

    at_commit(reconcile_at_commit)
