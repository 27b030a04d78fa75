"""OneHealthPort single sign-on: connecting the organization, signing in, joining an
organization that is already registered."""

from flask import Blueprint

bp = Blueprint("sso", __name__)

from . import join_views, saml_views, views  # noqa: E402,F401
