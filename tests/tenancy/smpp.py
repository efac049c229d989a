"""Tenant data and path parameters of chappe.smpp_server: SMPP credentials."""

from chappe.accounts.actor import SYSTEM
from chappe.smpp_server.services import smpp_account_create
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    t.objects["smpp_account"] = smpp_account_create(
        actor=SYSTEM.on(t.account), account=t.account, system_id=t.tag[-16:],
        password="secret1")


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "smpp_account_id": lambda t: [t.objects["smpp_account"].pk],
}
