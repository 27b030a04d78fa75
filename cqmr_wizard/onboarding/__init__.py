from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")

from . import views  # noqa: E402,F401
