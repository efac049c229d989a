"""Tenant data and path parameters of the inbox and Time2Chat: a declared 09 number and a
conversation."""

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.models import NumberRental
from chappe.callcenter.services import catalogue_number_add
from chappe.inbox.models import Conversation
from chappe.time2chat.services import t2c_declare
from tests.tenancy import IdFactory, NotTenantScoped, Tenant
from tests.time2chat.conftest import DECLARATION


def seed(t: Tenant) -> None:
    digits = f"{abs(hash(t.tag)) % 1_000_000:06d}"
    number = catalogue_number_add(e164=f"+33939{digits}", number_type="t2c_09",
                                  monthly_price_micros=0)
    # A rental row as number_buy makes it (another module's seed suspends the contact
    # center service, which number_buy requires).
    rental = NumberRental.objects.create(account=t.account, number=number,
                                         monthly_price_micros=0, currency="EUR",
                                         started_at=timezone.now())
    t.objects["t2c_declaration"] = t2c_declare(
        actor=SYSTEM.on(t.account), account=t.account, rental_id=rental.pk,
        **{**DECLARATION, "client_name": t.tag})
    t.objects["conversation"] = Conversation.objects.create(
        account=t.account, correspondent=f"+33613{digits}", address="Shop",
        channel="sms", last_in_at=timezone.now(), last_in_text=f"Hi {t.tag}")


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "declaration_id": lambda t: [t.objects["t2c_declaration"].pk],
    "conversation_id": lambda t: [t.objects["conversation"].pk],
}

BODY_OVERRIDES = {"POST /api/v1/conversations/{conversation_id}/reply": {"text": "Hello"}}
