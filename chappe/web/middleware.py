"""The web app's share of "every input from the network is hostile": a query string or
form field carrying a NUL character (which no page needs, and PostgreSQL cannot compare
or store) is answered 400 before any view reads it. Form fields are also checked by
Django's own validators; raw filters read from `request.GET` are not — this is the one
place that covers both. The API applies its own rules (chappe/api/hostile_input.py)."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _

# The APIs refuse a NUL themselves, in their own error shape: `/api/v1/` and the
# compatibility APIs (smsmode HTTP 1.6, smsmode REST v1, Twilio 2010-04-01; issue 17).
API_PREFIXES = ("/api/", "/http/1.6/", "/sms/v1/", "/2010-04-01/")


class RefuseNulMiddleware(MiddlewareMixin):
    """A `MiddlewareMixin`: it serves async views as well (decision 0028)."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIXES):
            fields = [request.GET]
            if request.method == "POST" and not request.content_type.startswith("application/"):
                fields.append(request.POST)
            for data in fields:
                if any("\x00" in key or any("\x00" in value for value in data.getlist(key))
                       for key in data):
                    return HttpResponseBadRequest(
                        _("The request contains a NUL character."), content_type="text/plain")
        return None
