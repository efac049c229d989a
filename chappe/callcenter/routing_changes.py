"""Routing changes, counted: saves and deletes of the contact-center rows that route
calls (flows and their versions, rentals, numbers, trunks) and of what refuses them
(accounts and their services, suspended or not: P-8). The voice engine's database
directory (chappe.callcenter.directory) caches the number → flow routing and the trunks
and drops that cache when this count moves. Only changes made in this process are
counted; another process's changes reach the engine when its cache expires. Connected in
`apps.py`.

Why signals here, where every state change goes through a service: this is no side
effect of a change but a cache kept honest — any write of these rows, a service's, the
admin's or a test's, must drop it."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from chappe.accounts.models import Account, Service
from chappe.callcenter.models import (
    CallFlow,
    CallFlowVersion,
    NumberRental,
    PhoneNumber,
    Trunk,
)

_generation = 0


def routing_generation() -> int:
    return _generation


def _bump() -> None:
    global _generation
    _generation += 1


def _changed(**_kwargs) -> None:
    # After the commit: the engine must not cache what it read before the change landed.
    transaction.on_commit(_bump)


def connect() -> None:
    for model in (CallFlow, CallFlowVersion, NumberRental, PhoneNumber, Trunk, Account, Service):
        post_save.connect(_changed, sender=model, dispatch_uid=f"routing-save-{model.__name__}")
        post_delete.connect(_changed, sender=model,
                            dispatch_uid=f"routing-delete-{model.__name__}")
