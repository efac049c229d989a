"""Mounts every app's router on the one `/api/v1/` API."""

from chappe.accounts.api import router as accounts_router
from chappe.api.v1.base import api
from chappe.billing.api import router as billing_router
from chappe.carriers.api import router as carriers_router
from chappe.messaging.api import router as messaging_router
from chappe.privacy.api import router as privacy_router
from chappe.smpp_server.api import router as smpp_router
from chappe.webhooks.api import router as webhooks_router

api.add_router("", accounts_router)
api.add_router("", privacy_router)
api.add_router("", billing_router)
api.add_router("", messaging_router)
api.add_router("", carriers_router)
api.add_router("", webhooks_router)
api.add_router("", "chappe.contacts.api.router")
api.add_router("", "chappe.campaigns.api.router")
api.add_router("", smpp_router)
api.add_router("", "chappe.callcenter.api.router")

__all__ = ["api"]
