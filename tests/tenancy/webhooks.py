"""Tenant data and path parameters of chappe.webhooks: one delivered event."""

from chappe.webhooks.services import EventDraft, webhook_settings_for, webhooks_emit
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    settings = webhook_settings_for(account=t.account)
    settings.default_url = f"https://{t.tag}.example/default"
    settings.save()
    [event] = webhooks_emit([EventDraft(account_id=t.account.pk, url=f"https://{t.tag}.example/h",
                                        type="message.status", payload={"tag": t.tag})])
    t.objects["webhook_event"] = event


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "event_id": lambda t: [t.objects["webhook_event"].pk],
}
