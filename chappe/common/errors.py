"""The one error vocabulary of Chappe's services.

Services raise these; each edge turns them into its own shape: the REST API into
`{"error": {"code", "message", "details"}}` with the status below, the web app into a
form error or a message, SMPP/SIP into their protocol status codes.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _


class ChappeError(Exception):
    status = 400
    code = "bad_request"
    default_message = _("The request could not be processed.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = str(message if message is not None else self.default_message)
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ChappeError):
    status = 400
    code = "validation_error"
    default_message = _("Some fields are invalid.")


class NotAuthenticated(ChappeError):
    status = 401
    code = "not_authenticated"
    default_message = _("Missing or invalid credentials.")


class PermissionDenied(ChappeError):
    status = 403
    code = "permission_denied"
    default_message = _("Your role does not allow this action.")


class ServiceRefused(ChappeError):
    """The account or one of its services cannot take new work (P-4, P-8)."""

    status = 403
    code = "service_unavailable"


class NotFound(ChappeError):
    status = 404
    code = "not_found"
    default_message = _("No such object in this account.")


class Conflict(ChappeError):
    status = 409
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class TooManyAttempts(ChappeError):
    """Credentials refused at once after repeated failures (`common.throttle`);
    `details["retry_after"]` says in how many seconds to try again."""

    status = 429
    code = "too_many_attempts"
    default_message = _("Too many failed authentications from this address: try again later.")
