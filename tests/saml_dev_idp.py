"""The local SAML IdP `make run SSO_PROTOCOL=saml` starts (npm saml-idp, through
cqmr_wizard/dev_idp/saml_server.mjs), run for a test beside a live wizard."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .helpers import free_port
from .processes import ROOT, start_announcing, stop

SERVER = ROOT / "cqmr_wizard" / "dev_idp" / "saml_server.mjs"


class SamlDevIdp:
    """saml-idp for the wizard at `sp_url` (and the local CQMR at `cqmr_url`, its second service
    provider), signing in as `account` of an accounts file of its own."""

    def __init__(
        self, workdir: Path, sp_url: str, account: dict, organization: dict, cqmr_url: str | None = None
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.accounts = workdir / "accounts.json"
        self.accounts.write_text(json.dumps({"accounts": [account], "organizations": [organization]}))
        self.sp_url = sp_url
        self.cqmr_url = cqmr_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = self.log = None

    def start(self) -> SamlDevIdp:
        args = [
            "node",
            str(SERVER),
            "--port",
            str(self.port),
            "--sp",
            self.sp_url,
            "--keys",
            str(self.workdir),
        ]
        self.process, self.log, _ = start_announcing(
            args + (["--cqmr", self.cqmr_url] if self.cqmr_url else []),
            env={**os.environ, "IDP_ACCOUNTS": str(self.accounts)},
            log_path=self.workdir / "saml-idp.log",
            what="the SAML IdP",
            timeout=30,
        )
        return self

    def stop(self) -> None:
        stop(self.process, self.log)

    def app_config(self) -> dict:
        """The wizard's settings for this IdP, its signing certificate pinned."""
        return {
            "SSO_PROTOCOL": "saml",
            "SAML_IDP_METADATA": f"{self.url}/metadata",
            "SAML_IDP_CERT_FILE": str(self.workdir / "idp-public-cert.pem"),
        }
