"""Keep the one error shape for what Django answers itself under /api/ (405 from the URL
resolver's method check), which never reaches the API's exception handlers."""

import json

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _


class ApiErrorShapeMiddleware(MiddlewareMixin):
    """A `MiddlewareMixin`: it serves async views as well (decision 0028)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (response.status_code == 405 and request.path.startswith("/api/")
                and not response.get("Content-Type", "").startswith("application/json")):
            allowed = response.get("Allow", "")
            shaped = HttpResponse(
                json.dumps({"error": {
                    "code": "method_not_allowed",
                    "message": _("This endpoint does not accept %(method)s.")
                    % {"method": request.method},
                    "details": {"allowed": [m.strip() for m in allowed.split(",") if m]}}}),
                status=405, content_type="application/json")
            shaped["Allow"] = allowed
            return shaped
        return response
