"""Tenant data and path parameters of chappe.accounts and chappe.privacy."""

from django.core.files.uploadedfile import SimpleUploadedFile

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import (
    account_document_upload,
    api_key_create,
    service_suspend,
    user_invite,
)
from tests.tenancy import IdFactory, NotTenantScoped, Tenant

PASSWORD = "correct-horse-battery-9"


def seed(t: Tenant) -> None:
    o = t.objects
    o["admin"] = User.objects.create_user(f"admin-{t.tag}@example.com", PASSWORD,
                                          account=t.account, role=Role.ADMINISTRATOR)
    o["supervisor"] = User.objects.create_user(f"sup-{t.tag}@example.com", PASSWORD,
                                               account=t.account, role=Role.SUPERVISOR)
    o["sub_user"] = User.objects.create_user(f"subuser-{t.tag}@example.com", PASSWORD,
                                             account=t.sub)
    o["invitation"], _ = user_invite(actor=SYSTEM, account=t.account,
                                     email=f"inv-{t.tag}@example.com", role=Role.AGENT)
    o["sub_invitation"], _ = user_invite(actor=SYSTEM, account=t.sub,
                                         email=f"subinv-{t.tag}@example.com", role=Role.AGENT)
    # Keys other than the one the tenant's client uses (which must survive the calls).
    o["key"], _ = api_key_create(actor=SYSTEM, account=t.account, name=f"spare {t.tag}")
    o["sub_key"], _ = api_key_create(actor=SYSTEM, account=t.sub, name=f"sub {t.tag}")
    account_document_upload(actor=SYSTEM, account=t.account, description=f"doc {t.tag}",
                            file=SimpleUploadedFile(f"kbis-{t.tag}.pdf", b"%PDF-1.4 test"))
    # Service rows carry no id: a note only this tenant has makes a leak visible.
    service_suspend(actor=SYSTEM, service=t.account.services.get(kind=ServiceKind.CONTACT_CENTER),
                    reason="maintenance", note=f"note {t.tag}")


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    # A sub-account of the tenant, and the tenant account itself (never its own sub-account).
    "subaccount_id": lambda t: [t.sub.pk, t.account.pk],
    "user_id": lambda t: [t.objects["supervisor"].pk, t.objects["admin"].pk,
                          t.objects["sub_user"].pk],
    "invitation_id": lambda t: [t.objects["invitation"].pk, t.objects["sub_invitation"].pk],
    "key_id": lambda t: [t.objects["key"].pk, t.objects["sub_key"].pk],
    "kind": NotTenantScoped(ServiceKind.MESSAGING.value, "a service kind, not an object id"),
}
