from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from django.views.generic import RedirectView
from django.views.i18n import set_language

from chappe.api.compat.urls import urlpatterns as compat_urls
from chappe.api.rbm_webhook import rbm_events_view
from chappe.api.v1 import api
from chappe.runtime.metrics import healthz_view, metrics_view

admin.site.site_header = "Chappe operator back-office"
admin.site.site_title = "Chappe"

urlpatterns = [
    path("api/v1/", api.urls),
    # smsmode HTTP 1.6, smsmode REST v1 and Twilio 2010-04-01 at their own paths (M-17).
    *compat_urls,
    # Receipts and replies pushed by RBM to an RBM connector (decision 0056).
    path("carriers/rbm/<slug:connector>/events", rbm_events_view, name="rbm-events"),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", healthz_view, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("chappe.web.urls")),
]


def handler404(request: HttpRequest, exception: Exception):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": _("No such endpoint."), "details": {}}},
            status=404,
        )
    return page_not_found(request, exception)
