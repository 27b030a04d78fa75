"""What a service raises when a rule refuses a request: one shape for every feature, so a view
shows any refusal the same way (see `views.refused`)."""

from __future__ import annotations


class Refusal(Exception):
    """A rule refused the request; nothing was changed. `message` is safe to show, `field` names
    the form field it belongs to (None: the whole form), `status` is the HTTP answer."""

    status: int = 400
    field: str | None = None

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
        if status is not None:
            self.status = status
