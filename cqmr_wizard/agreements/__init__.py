from flask import Blueprint

bp = Blueprint("agreements", __name__, url_prefix="/agreements")

from . import document_views, user_views, views  # noqa: E402,F401
