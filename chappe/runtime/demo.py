"""The demo data `chappe up` creates on first run, so a newcomer's first try just works.

Idempotent: later runs reuse what exists. Passwords are random, generated once and kept
(with the API key) in files under the data dir, readable by the owner only.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, ApiKey, ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import (
    account_create,
    api_key_create,
    api_key_prefix,
    service_order,
)
from chappe.agents.models import Agent, WrapUpCode
from chappe.agents.selectors import licences_of
from chappe.agents.services.licences import licences_set
from chappe.agents.services.setup import agent_create
from chappe.billing.models import CreditOrder, PriceList
from chappe.billing.money import from_micros
from chappe.billing.services import (
    credit_order_create,
    payment_record,
    price_list_create,
    price_list_version_create,
)
from chappe.callcenter.services import demo_voice_setup, simulator_trunk_ensure
from chappe.carriers.services import rcs_simulator_ensure, simulator_ensure
from chappe.messaging.rcs.demo import demo_rcs_agent
from chappe.smpp_server.models import SmppAccount
from chappe.smpp_server.services import smpp_account_create
from chappe.time2chat.services import demo_time2chat_setup

OPERATOR_EMAIL = "operator@chappe.localhost"
CLIENT_EMAIL = "demo@chappe.localhost"
DEMO_ACCOUNT = "Demo Company"
DEMO_LICENCES = 2
# The demo's agents: (e-mail, first name, extension). Two, as many as its licences.
DEMO_AGENTS = (("agent1@chappe.localhost", "Alice", "101"),
               ("agent2@chappe.localhost", "Bob", "102"))


@dataclass
class Demo:
    operator_email: str
    operator_password: str
    client_email: str
    client_password: str
    api_key: str
    api_key_file: Path
    phone_number: str
    smpp_system_id: str
    smpp_password: str
    # (extension, SIP username, SIP password) of each demo agent's phones.
    agents: list[tuple[str, str, str]]
    # (extension, e-mail) of each demo agent, who logs in to the web app (the browser
    # softphone) with `agent_password`.
    agent_logins: list[tuple[str, str]] = ()
    agent_password: str = ""


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


# The operator's starting price list (EUR, excluding VAT); the operator edits it in the
# back-office. Messaging per segment/message/call, voice per minute, fees per month.
DEFAULT_PRICES = [
    {"product": "sms", "country": "FR", "unit_price": "0.045"},
    {"product": "sms", "unit_price": "0.09"},
    {"product": "unsubscribe_confirmation", "unit_price": "0.045"},
    {"product": "tts", "unit_price": "0.12"},
    {"product": "rcs_message", "unit_price": "0.03"},
    {"product": "rcs_session", "unit_price": "0.06"},
    {"product": "t2c_mt", "unit_price": "0.04"},
    {"product": "t2c_session", "unit_price": "0.08"},
    {"product": "voice_minute", "country": "FR", "unit_price": "0.012"},
    {"product": "voice_minute", "country": "FR", "number_type": "mobile", "unit_price": "0.06"},
    {"product": "voice_minute", "unit_price": "0.15"},
    {"product": "number_rental", "unit_price": "2.00"},
    {"product": "licence", "unit_price": "25.00"},
    {"product": "user", "unit_price": "5.00"},
    {"product": "plan_fee", "unit_price": "49.00"},
]
DEMO_CREDIT = "200"  # the SMS, voice and campaign examples, and two licences a month


def _demo_prices_and_credit(account: Account) -> None:
    """A default price list if the platform has none, and paid credits for the demo."""
    if not PriceList.objects.filter(is_default=True).exists():
        prices = price_list_create(actor=SYSTEM, code="standard", name="Standard",
                                   is_default=True)
        price_list_version_create(actor=SYSTEM, price_list=prices, prices=DEFAULT_PRICES,
                                  effective_from=datetime(2020, 1, 1, tzinfo=UTC))
    if not CreditOrder.objects.filter(account=account).exists():
        order = credit_order_create(actor=SYSTEM.on(account), account=account,
                                    amount=DEMO_CREDIT)
        payment_record(actor=SYSTEM, invoice=order.invoice,
                       amount=from_micros(order.invoice.total_micros), method="transfer",
                       reference="DEMO")


@transaction.atomic
def demo_setup() -> Demo:
    data_dir = Path(settings.DATA_DIR)
    secrets_file = data_dir / "demo-credentials.json"
    key_file = data_dir / "demo-api-key.txt"
    creds = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    creds.setdefault("operator_password", secrets.token_urlsafe(12))
    creds.setdefault("client_password", secrets.token_urlsafe(12))
    creds.setdefault("smpp_password", secrets.token_urlsafe(6)[:8])  # SMPP 3.4: ≤ 8
    creds.setdefault("agent_password", secrets.token_urlsafe(12))

    operator = User.objects.filter(email=OPERATOR_EMAIL).first()
    if operator is None:
        User.objects.create_superuser(OPERATOR_EMAIL, creds["operator_password"])
    account = Account.objects.filter(name=DEMO_ACCOUNT, parent=None).first()
    if account is None:
        account = account_create(
            actor=SYSTEM, name=DEMO_ACCOUNT, billing_email=CLIENT_EMAIL,
            address_line1="1 rue de la Paix", postal_code="75002", city="Paris",
        )
        for kind in ServiceKind.values:
            service_order(actor=SYSTEM, account=account, kind=kind)
    if not User.objects.filter(email=CLIENT_EMAIL).exists():
        User.objects.create_user(
            CLIENT_EMAIL, creds["client_password"], account=account, role=Role.ADMINISTRATOR,
            first_name="Demo", last_name="Admin",
        )
    _demo_prices_and_credit(account)
    if licences_of(account=account) == 0:
        # Two agents may log in at once (C-8): enough to try a queue (paid from the
        # demo's credit, as an account without a subscription pays them).
        licences_set(actor=SYSTEM, account=account, licences=DEMO_LICENCES)
    simulator_ensure()
    simulator_trunk_ensure(host="127.0.0.1", port=settings.CHAPPE_SIP_SIM_PORT)
    number = demo_voice_setup(account=account)
    # RCS through the RCS simulator, and a declared Time2Chat 09 number (issue 19).
    rcs_simulator_ensure()
    demo_rcs_agent(account=account)
    demo_time2chat_setup(account=account)
    _demo_smpp(account=account, password=creds["smpp_password"])
    agents = _demo_agents(account=account, password=creds["agent_password"])
    _demo_wrap_up_codes(account=account)
    raw_key = key_file.read_text().strip() if key_file.exists() else ""
    prefix = api_key_prefix(raw_key)
    if not ApiKey.objects.filter(account=account, prefix=prefix, revoked_at=None).exists():
        _key, raw_key = api_key_create(actor=SYSTEM, account=account, name="Demo key")
        _write_private(key_file, raw_key + "\n")
    _write_private(secrets_file, json.dumps(creds, indent=2))
    return Demo(
        operator_email=OPERATOR_EMAIL, operator_password=creds["operator_password"],
        client_email=CLIENT_EMAIL, client_password=creds["client_password"],
        api_key=raw_key, api_key_file=key_file, phone_number=number.number.e164,
        smpp_system_id=DEMO_SMPP_SYSTEM_ID, smpp_password=creds["smpp_password"],
        agents=[(a.extension, a.sip_username, a.sip_password) for a in agents],
        agent_logins=[(a.extension, a.user.email) for a in agents],
        agent_password=creds["agent_password"],
    )


DEMO_SMPP_SYSTEM_ID = "demo"


def _demo_smpp(*, account: Account, password: str) -> None:
    """SMPP credentials for the demo account, so a client can bind at once."""
    existing = SmppAccount.objects.filter(account=account, system_id=DEMO_SMPP_SYSTEM_ID,
                                          enabled=True).first()
    if existing is None:
        smpp_account_create(actor=SYSTEM.on(account), account=account,
                            system_id=DEMO_SMPP_SYSTEM_ID, password=password,
                            default_sender="Chappe")
    elif not existing.check_password(password):
        existing.set_password(password)
        existing.save(update_fields=["password_hash"])


def _demo_agents(*, account: Account, password: str) -> list[Agent]:
    """Two agents (users with the Agent role, logged out), so that a newcomer can build a
    queue and register two softphones at once, or log in to the web app as each (the
    browser softphone, issue 15) with the demo's agent password."""
    for email, first_name, extension in DEMO_AGENTS:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, password, account=account, role=Role.AGENT,
            first_name=first_name, last_name="Agent")
        if not user.check_password(password):  # a demo made before the password was kept
            user.set_password(password)
            user.save(update_fields=["password"])
        if Agent.objects.filter(account=account, extension=extension).exists():
            continue
        agent_create(actor=SYSTEM.on(account), account=account, user_id=user.pk,
                     extension=extension, wrap_up_seconds=5)
    return list(Agent.objects.filter(account=account, extension__in=[
        extension for _email, _name, extension in DEMO_AGENTS]).select_related("user")
        .order_by("extension"))


DEMO_WRAP_UP_CODES = ("Sale", "Information", "Complaint")


def _demo_wrap_up_codes(*, account: Account) -> None:
    """The disposition codes the demo agents pick after a call (idempotent)."""
    for name in DEMO_WRAP_UP_CODES:
        WrapUpCode.objects.get_or_create(account=account, name=name)
