"""Mounts every router on the one `/api/v1/` API (a module per domain, thin: they
validate, call the domain's services and selectors, and shape the answer)."""

from chappe.api.v1 import (
    accounts,
    agents,
    audit,
    billing,
    call_campaigns,
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
    support,
    webhooks,
)
from chappe.api.v1.base import api

for module in (accounts, audit, billing, messaging, carriers, webhooks, contacts, campaigns,
               smpp, callcenter, calls, agents, call_campaigns, statistics, rcs,
               conversations, support):
    api.add_router("", module.router)

__all__ = ["api"]
