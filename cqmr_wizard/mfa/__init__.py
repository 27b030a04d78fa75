"""Two-step verification (authenticator app or passkey): enrollment, the sign-in challenge, recovery codes, resets."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("mfa", __name__, url_prefix="/two-step-verification")


@bp.record_once
def check_keys(state: BlueprintSetupState) -> None:
    """Refuse to start with encryption keys that cannot be used, saying which setting is wrong."""
    from ..config import ConfigurationError
    from .totp import KeyConfigurationError, encryption_keys

    try:
        encryption_keys(state.app.config.get("MFA_ENCRYPTION_KEYS") or "")
    except KeyConfigurationError as error:
        raise ConfigurationError(str(error)) from None


from . import admin_views, passkey_views, recovery_views, views  # noqa: E402,F401
