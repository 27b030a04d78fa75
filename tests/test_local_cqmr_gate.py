"""The wizard's "Go to CQMR", configured for the local CQMR as `make run` does, lands there: the
CQMR accepts the wizard's third-party-initiated login and shows the provisioned person."""

from __future__ import annotations

import requests

from .helpers import submit
from .test_gate import GATE, build
from .test_local_cqmr import provision, text


def test_go_to_cqmr_lands_signed_in_at_the_local_cqmr(app_factory, local_cqmr):
    app = app_factory(
        OIDC_ISSUER=local_cqmr.idp.issuer,
        OIDC_CLIENT_ID="cqmr-wizard-test",
        OIDC_CLIENT_SECRET="unused-here",
        **local_cqmr.wizard_config(),
    )
    client, _, _ = build(app)
    account = local_cqmr.idp.add_account(name="Gale Porter")
    # What the wizard's provisioning does once the member is ready.
    provision(local_cqmr, account, organization="Willamette Valley Clinic", roles=["admin", "signer"])

    gate = submit(client, GATE, {})
    assert gate.status_code == 303
    assert gate.location.startswith(f"{local_cqmr.base_url}/login?")

    http = requests.Session()
    started = http.get(gate.location, allow_redirects=False, timeout=10)
    assert started.status_code == 302
    assert started.headers["Location"].startswith(f"{local_cqmr.idp.issuer}/auth?")
    page = http.get(local_cqmr.idp.authorize(started.headers["Location"], account, http=http), timeout=10)

    assert page.url == f"{local_cqmr.base_url}/"
    assert "Signed in to the CQMR as Gale Porter, Willamette Valley Clinic, roles admin, signer" in text(page)
