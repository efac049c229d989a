"""RBM's webhook: receipts and user messages pushed by RBM for one of our RBM connectors
(`POST /carriers/rbm/<connector>/events`, decision 0056).

Nothing is believed before the signature (`X-Goog-Signature`, HMAC-SHA512 under the
connector's sealed client token) is checked against the raw body; then the body is read
at the schema layer (`carriers.rbm.events`) and applied like polled reports
(`inbox.carrier_events`). Errors are in the one error shape: 401 bad signature, 400 a body
we cannot read, 404 no such RBM connector, 413 too big — never a 500. A repeated event
is harmless (MOs deduplicated by id; a repeated receipt is a refused transition).
"""

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chappe.api.v1.base import error_body
from chappe.carriers.rbm.config import RbmConfig
from chappe.carriers.rbm.events import (
    MAX_BODY,
    BadEvent,
    event_as_reports,
    event_parse,
    signature_valid,
)
from chappe.carriers.selectors import connector_of_type
from chappe.common.sealing import SealBroken
from chappe.inbox.carrier_events import carrier_events_apply

RBM_TYPE = "rbm"


def _error(status: int, code: str, message: str, **details: str) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


@csrf_exempt
@require_POST
def rbm_events_view(request: HttpRequest, connector: str) -> HttpResponse:
    row = connector_of_type(name=connector, type=RBM_TYPE)
    if row is None:
        return _error(404, "not_found", _("No such RBM connector."))
    try:
        body = request.body
    except RequestDataTooBig:
        body = None
    if body is None or len(body) > MAX_BODY:
        return _error(413, "too_large", _("The body is too large."))
    try:
        config = RbmConfig.model_validate(row.config)
        valid = signature_valid(body=body, signature=request.headers.get("X-Goog-Signature", ""),
                                secret=config.secret("webhook_secret"))
    except (ValueError, SealBroken):  # a config that no longer validates, a broken seal
        valid = False
    if not valid:
        return _error(401, "bad_signature", _("Missing or invalid X-Goog-Signature."))
    try:
        event = event_parse(body)
    except BadEvent as exc:
        return _error(400, "validation_error", _("This is not an RBM event we can read."),
                      body=str(exc))
    with transaction.atomic():
        carrier_events_apply(connector=row.name,
                             events=event_as_reports(event, agents=config.agents))
    return JsonResponse({})
