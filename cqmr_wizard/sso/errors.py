"""Every way a OneHealthPort sign-in can fail, with what the person is told."""

from __future__ import annotations

from ..refusals import Refusal

# reason → (HTTP status, what the person is told)
PROBLEMS: dict[str, tuple[int, str]] = {
    "not_configured": (503, "Signing in with OneHealthPort is not set up on this service yet."),
    "unreachable": (502, "OneHealthPort could not be reached. Try again in a few minutes."),
    "bad_provider": (
        502,
        "OneHealthPort gave an answer this service cannot use. Try again "
        "later; if it keeps happening, contact the CQMR team.",
    ),
    "access_denied": (
        403,
        "You did not finish signing in with OneHealthPort, or did not allow "
        "this service to use your OneHealthPort account. Nothing was changed.",
    ),
    "provider_error": (400, "OneHealthPort could not complete the sign-in. Start again."),
    "state_mismatch": (
        400,
        "This sign-in answer does not belong to a sign-in started in this "
        "browser, or it has already been used. Start again.",
    ),
    "flow_expired": (400, "Signing in took too long. Start again."),
    "token_refused": (400, "OneHealthPort refused to complete this sign-in. Start again."),
    "replayed": (
        400,
        "This OneHealthPort answer was already used, so it was not used again. Start again.",
    ),
    "invalid_response": (
        401,
        "OneHealthPort's answer could not be verified, so it was not "
        "used. Start again; if it keeps happening, contact the CQMR team.",
    ),
    "invalid_id_token": (
        401,
        "OneHealthPort's answer could not be verified, so it was not "
        "used. Start again; if it keeps happening, contact the CQMR team.",
    ),
}


class SsoError(Refusal):
    """The single sign-on could not be completed; `reason` is a key of PROBLEMS."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        status, message = PROBLEMS[reason]
        super().__init__(message, status=status)
        self.reason = reason
        self.detail = detail
