"""Flask extensions, created unbound; `create_app()` wires them to an app."""

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def client_address_key() -> str:
    """Per-source rate limit key: the client address (behind PROXY_COUNT trusted proxies, the
    one they report), under this deployment's THROTTLE_KEY_PREFIX."""
    return f"{current_app.config['THROTTLE_KEY_PREFIX']}:{request.remote_addr or '-'}"


# Storage comes from RATELIMIT_STORAGE_URI (config.py): Redis, or the shared database.
limiter = Limiter(key_func=client_address_key, headers_enabled=True)


def per_source(setting: str):
    """Decorate a view: the limits in config `setting` (e.g. "10 per minute; 100 per hour")
    per client address, counted on POST (a page view costs nothing)."""
    return limiter.limit(lambda: current_app.config[setting], methods=["POST"])
