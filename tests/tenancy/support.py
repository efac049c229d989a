"""Tenant data and path parameters of chappe.support: one ticket."""

from chappe.accounts.actor import SYSTEM
from chappe.support.services import ticket_open
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    ticket = ticket_open(actor=SYSTEM.on(t.account), account=t.account,
                         subject=f"Ticket {t.tag}", body=f"About {t.tag}",
                         email=f"{t.tag}@example.com")
    t.objects["support_ticket"] = ticket


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "ticket_id": lambda t: [t.objects["support_ticket"].pk],
}
LISTS_WITHOUT_TENANT_DATA = {
    "GET /api/v1/support/quota": "counts only: no object of the tenant to show",
}
