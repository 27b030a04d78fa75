"""Start the local CQMR: `python -m cqmr_wizard.local_cqmr --port 5557 --scim-token TOKEN --issuer URL`.

Every option may also come from the environment (LOCAL_CQMR_*). Prints "ready <base URL>" on
stdout once it listens (port 0 picks a free port).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from werkzeug.serving import make_server

from .app import Settings, create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line, with the environment as defaults."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m cqmr_wizard.local_cqmr", description=__doc__)
    parser.add_argument("--host", default=env("LOCAL_CQMR_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("LOCAL_CQMR_PORT", "5557")))
    parser.add_argument("--public-url", default=env("LOCAL_CQMR_PUBLIC_URL"), help="default http://HOST:PORT")
    parser.add_argument("--data-dir", default=env("LOCAL_CQMR_DATA_DIR", "instance/local_cqmr"))
    parser.add_argument(
        "--scim-token", default=env("LOCAL_CQMR_SCIM_TOKEN"), help="bearer token for /scim/v2"
    )
    parser.add_argument("--issuer", default=env("LOCAL_CQMR_ISSUER"), help="the OpenID provider to trust")
    parser.add_argument(
        "--saml-idp-metadata",
        default=env("LOCAL_CQMR_SAML_IDP_METADATA"),
        help="the SAML IdP to trust (metadata file or address) instead of --issuer",
    )
    parser.add_argument("--client-id", default=env("LOCAL_CQMR_CLIENT_ID", "cqmr-local"))
    parser.add_argument("--client-secret", default=env("LOCAL_CQMR_CLIENT_SECRET"))
    parser.add_argument(
        "--wizard-url", default=env("LOCAL_CQMR_WIZARD_URL"), help="linked from the refusal page"
    )
    args = parser.parse_args(argv)
    if not args.scim_token:
        parser.error(
            "--scim-token (or LOCAL_CQMR_SCIM_TOKEN) is required: the SCIM service refuses anonymous calls"
        )
    if args.issuer and not args.client_secret:
        parser.error("--issuer needs --client-secret (or LOCAL_CQMR_CLIENT_SECRET)")
    return args


def main(argv: list[str] | None = None) -> None:
    """Serve the relying party and the SCIM service until stopped."""
    args = parse_args(argv)
    server = make_server(args.host, args.port, app=None, threaded=True)  # bound first: port 0 resolves
    public_url = (args.public_url or f"http://{args.host}:{server.server_port}").rstrip("/")
    server.app = create_app(
        Settings(
            public_url=public_url,
            data_dir=Path(args.data_dir),
            scim_token=args.scim_token,
            issuer=args.issuer,
            client_id=args.client_id,
            client_secret=args.client_secret,
            wizard_url=args.wizard_url,
            saml_idp_metadata=args.saml_idp_metadata,
        )
    )
    print(f"ready {public_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
