"""Training materials: operators publish them, members mark what they have reviewed."""

from flask import Blueprint

bp = Blueprint("training", __name__)

from . import operator_views, views  # noqa: E402,F401
