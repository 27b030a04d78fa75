"""The SAML 2.0 service provider's own addresses: its metadata, and the assertion consumer
service that receives the IdP's Response (HTTP-POST)."""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, request, url_for

from ..access import Access, allow
from ..extensions import csrf, per_source
from . import bp, saml, saml_setup
from .errors import SsoError
from .views import complete, failed


def _saml_only() -> None:
    if current_app.config["SSO_PROTOCOL"] != "saml" or not saml.enabled():
        abort(404)


@bp.route("/sso/saml/metadata")
@allow(Access.PUBLIC)
def saml_metadata():
    _saml_only()
    return Response(saml_setup.sp_metadata(), mimetype="application/samlmetadata+xml")


@bp.route("/sso/saml/acs", methods=["POST"])
@allow(Access.PUBLIC)
@csrf.exempt  # the IdP posts here from its own site; the Response's signature and InResponseTo stand in
@per_source("RATE_LIMIT_SIGN_IN")  # anyone may post here, and each post is kept a while
def saml_acs():
    _saml_only()
    body = request.form.get("SAMLResponse")
    try:
        if not body:
            raise SsoError("invalid_response", "no SAMLResponse")
        token = saml.hold(body)
    except SsoError as error:
        return failed(error, None)
    # A cross-site POST carries no SameSite=Lax session cookie; the redirect's GET does, and the
    # Response is checked there against the request that session started.
    return redirect(url_for("sso.saml_resume", token=token), 303)


@bp.route("/sso/saml/acs/<token>")
@allow(Access.PUBLIC)
def saml_resume(token: str):
    _saml_only()
    return complete(lambda: saml.finish(token))
