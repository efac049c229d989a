"""The demo data `chappe up` creates on first run, so a newcomer's first try just works.

Idempotent: later runs reuse what exists. Passwords are random, generated once and kept
(with the API key) in files under the data dir, readable by the owner only.
"""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, ApiKey, ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import account_create, api_key_create, service_order

OPERATOR_EMAIL = "operator@chappe.localhost"
CLIENT_EMAIL = "demo@chappe.localhost"
DEMO_ACCOUNT = "Demo Company"


@dataclass
class Demo:
    operator_email: str
    operator_password: str
    client_email: str
    client_password: str
    api_key: str
    api_key_file: Path


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


@transaction.atomic
def demo_setup() -> Demo:
    data_dir = Path(settings.DATA_DIR)
    secrets_file = data_dir / "demo-credentials.json"
    key_file = data_dir / "demo-api-key.txt"
    creds = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    creds.setdefault("operator_password", secrets.token_urlsafe(12))
    creds.setdefault("client_password", secrets.token_urlsafe(12))

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
    raw_key = key_file.read_text().strip() if key_file.exists() else ""
    prefix = raw_key[:12]
    if not ApiKey.objects.filter(account=account, prefix=prefix, revoked_at=None).exists():
        _key, raw_key = api_key_create(actor=SYSTEM, account=account, name="Demo key")
        _write_private(key_file, raw_key + "\n")
    _write_private(secrets_file, json.dumps(creds, indent=2))
    return Demo(
        operator_email=OPERATOR_EMAIL, operator_password=creds["operator_password"],
        client_email=CLIENT_EMAIL, client_password=creds["client_password"],
        api_key=raw_key, api_key_file=key_file,
    )
