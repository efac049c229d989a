"""Tenant data and path parameters of RCS (chappe.messaging.rcs): an agent with its
images, submitted (so both its PATCH and its submit have something to refuse)."""

from chappe.accounts.actor import SYSTEM
from chappe.messaging.rcs.agents import rcs_agent_create
from tests.messaging.rcs.conftest import PROFILE, png
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    t.objects["rcs_agent"] = rcs_agent_create(
        actor=SYSTEM.on(t.account), account=t.account, logo=png(224, 224),
        banner=png(1440, 448), **{**PROFILE, "brand_name": t.tag[:40]})


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "rcs_agent_id": lambda t: [t.objects["rcs_agent"].pk],
}
