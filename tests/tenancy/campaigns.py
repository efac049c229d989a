"""Tenant data and path parameters of chappe.campaigns: a draft campaign to a pasted
number (launchable: the billing seed funded the tenant)."""

import zlib

from chappe.accounts.actor import SYSTEM
from chappe.campaigns.services import campaign_create
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    digits = zlib.crc32(t.tag.encode()) % 10_000_000
    t.objects["campaign"] = campaign_create(
        actor=SYSTEM.on(t.account), account=t.account, name=f"Campaign {t.tag}",
        sender="Shop", text=f"Hello {{first_name|there}} {t.tag}", kind="transactional",
        stop_mention=False, numbers=[f"+3378{digits:07d}"])


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "campaign_id": lambda t: [t.objects["campaign"].pk],
}
