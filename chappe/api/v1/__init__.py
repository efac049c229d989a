"""Mounts every router on the one `/api/v1/` API (a module per domain, thin: they
validate, call the domain's services and selectors, and shape the answer)."""

from chappe.api.v1 import (
    accounts,
    agents,
    audit,
    billing,
    callcenter,
    calls,
    campaigns,
    carriers,
    contacts,
    conversations,
    messaging,
    rcs,
    smpp,
    statistics,
    webhooks,
)
from chappe.api.v1.base import api

for module in (accounts, audit, billing, messaging, carriers, webhooks, contacts, campaigns,
               smpp, callcenter, calls, agents, statistics, rcs,
               conversations):
    api.add_router("", module.router)

__all__ = ["api"]
