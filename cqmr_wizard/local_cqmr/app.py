"""The local CQMR as one WSGI app: the relying party's pages, and the SCIM service under /scim."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, render_template, request, session, url_for
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .directory import find_person
from .saml import SamlLogin
from .scim import build_scim_app

SCIM_PREFIX = "/scim"


@dataclass(frozen=True)
class Settings:
    """How one local CQMR is reached and whom it trusts."""

    public_url: str  # e.g. http://127.0.0.1:5557, without a trailing slash
    data_dir: Path
    scim_token: str
    issuer: str | None = None
    client_id: str = "cqmr-local"
    client_secret: str | None = None
    wizard_url: str | None = None  # linked from the refusal page
    saml_idp_metadata: str | None = None  # trust this SAML IdP (file or address) instead of `issuer`

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/callback"


def create_app(settings: Settings) -> Flask:
    """Build the relying party (Flask) with the SCIM service mounted at /scim."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings.data_dir),
        # The wizard and the provider run on the same host; cookies ignore ports, so a name of its own.
        SESSION_COOKIE_NAME="local_cqmr_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https:"),
    )
    scim = build_scim_app(settings.data_dir, settings.scim_token)
    oauth = OAuth(app)
    saml = (
        SamlLogin(settings.public_url, settings.data_dir, settings.saml_idp_metadata)
        if settings.saml_idp_metadata
        else None
    )
    trusted = saml.idp if saml else settings.issuer
    if settings.issuer and not saml:
        oauth.register(
            "ohp",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=f"{settings.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile", "code_challenge_method": "S256", "default_timeout": 10},
        )

    @app.after_request
    def security_headers(response):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        )
        return response

    @app.get("/")
    def home():
        """The CQMR itself: who is signed in, or a refusal for someone without access."""
        subject = session.get("sub")
        if not subject:
            return render_template("local_cqmr/home.html", can_sign_in=bool(trusted))
        person = find_person(scim.storage, subject)
        if person is None or not person.active:
            reason = "not_provisioned" if person is None else "inactive"
            return render_template(
                "local_cqmr/refused.html", reason=reason, subject=subject, wizard_url=settings.wizard_url
            ), 403
        return render_template("local_cqmr/signed_in.html", person=person, subject=subject)

    @app.route("/login", methods=["GET", "POST"])
    def initiate_login():
        """OIDC third-party-initiated login: `iss` must be our provider; `target_link_uri` stays on this site."""
        if not trusted:
            return _problem(
                503, "Signing in is not set up", "This CQMR stand-in was started without a provider."
            )
        values = request.values
        if values.get("iss") and values["iss"].rstrip("/") != trusted.rstrip("/"):
            return _problem(
                400, "Unknown sign-in provider", "The CQMR only accepts sign-ins from its own OneHealthPort."
            )
        session["target"] = _on_this_site(values.get("target_link_uri"), settings.public_url)
        if saml:
            session["saml_request"], location = saml.start()
            session["login_hint"] = values.get("login_hint")
            return redirect(location)
        extra = {"login_hint": values["login_hint"]} if values.get("login_hint") else {}
        try:
            return oauth.ohp.authorize_redirect(settings.redirect_uri, **extra)
        except requests.RequestException:
            return _problem(502, "OneHealthPort could not be reached", "Try again in a few minutes.")

    @app.get("/callback")
    def callback():
        """Finish the authorization code flow and remember who signed in."""
        if not settings.issuer:
            abort(404)
        target = session.get("target") or "/"
        try:
            token = oauth.ohp.authorize_access_token()
        except (AuthlibBaseError, requests.RequestException, ValueError):
            return _problem(
                400, "The sign-in could not be completed", "Start again from the onboarding wizard."
            )
        session.clear()  # a new session for the person who signed in
        session["sub"] = token["userinfo"]["sub"]
        session["csrf"] = secrets.token_urlsafe(24)
        return redirect(target)

    @app.get("/saml/metadata")
    def saml_metadata():
        """This stand-in's SP metadata, for the IdP."""
        if not saml:
            abort(404)
        return saml.metadata(), 200, {"Content-Type": "application/samlmetadata+xml"}

    @app.post("/saml/acs")
    def saml_acs():
        """The IdP's answer: only the person the wizard named (login_hint) is signed in."""
        if not saml:
            abort(404)
        target, hint = session.get("target") or "/", session.get("login_hint")
        subject = saml.finish(request.form.get("SAMLResponse", ""), session.pop("saml_request", ""))
        if subject is None:
            return _problem(
                400, "The sign-in could not be completed", "Start again from the onboarding wizard."
            )
        if hint and subject != hint:
            return _problem(
                403,
                "Signed in as someone else",
                "OneHealthPort signed in a different person than the onboarding wizard sent. "
                "Sign out of OneHealthPort and start again from the wizard.",
            )
        session.clear()  # a new session for the person who signed in
        session["sub"] = subject
        session["csrf"] = secrets.token_urlsafe(24)
        return redirect(target)

    @app.post("/logout")
    def logout():
        """Forget the signed-in person."""
        if not secrets.compare_digest(str(request.form.get("csrf", "")), str(session.get("csrf", ""))):
            return _problem(400, "Sign out again", "This form has expired. Go back and try again.")
        session.clear()
        return redirect(url_for("home"))

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {SCIM_PREFIX: scim})
    return app


def _problem(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("local_cqmr/problem.html", title=title, detail=detail), status


def _on_this_site(target: str | None, public_url: str) -> str:
    """Return the target link when it is on this site, else the home page (no open redirect)."""
    if not target:
        return "/"
    parts, ours = urlsplit(target), urlsplit(public_url)
    if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc) or parts.fragment:
        return "/"
    return target


def _secret_key(data_dir: Path) -> str:
    """A session key kept beside the data, so sign-ins survive a restart."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()
