from datetime import datetime
from uuid import UUID

from django.utils import timezone
from ninja import Schema
from pydantic import Field

from chappe.accounts.models import Invitation
from chappe.accounts.roles import Role


class AccountDetails(Schema):
    siret: str | None = Field(None, max_length=20, description="14 digits (France)")
    vat_number: str | None = Field(None, max_length=20)
    address_line1: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=2, description="ISO 3166 alpha-2")
    billing_email: str | None = Field(None, max_length=254)
    dpo_name: str | None = Field(None, max_length=200)
    dpo_email: str | None = Field(None, max_length=254)
    timezone: str | None = Field(None, max_length=64, description="IANA zone, e.g. Europe/Paris")
    default_country: str | None = Field(
        None, max_length=2, description="Country used to read national phone numbers"
    )


class AccountCreate(AccountDetails):
    name: str = Field(min_length=1, max_length=200)


class AccountPatch(AccountDetails):
    name: str | None = Field(None, min_length=1, max_length=200)


class AccountOut(Schema):
    id: UUID
    parent_id: UUID | None
    name: str
    siret: str
    vat_number: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    billing_email: str
    dpo_name: str
    dpo_email: str
    timezone: str
    default_country: str
    status: str
    suspension_reason: str
    status_note: str
    created_at: datetime
    # The Account SID of the Twilio-compatible API (issue 17): its Basic-auth user name.
    twilio_account_sid: str


class ServiceOut(Schema):
    kind: str
    status: str
    suspension_reason: str
    status_note: str
    ordered_at: datetime
    termination_effective_at: datetime | None


class ServiceOrder(Schema):
    kind: str


class UserOut(Schema):
    id: UUID
    email: str
    first_name: str
    last_name: str
    role: Role
    is_active: bool
    last_login: datetime | None
    date_joined: datetime


class UserPatch(Schema):
    role: Role | None = None
    is_active: bool | None = None
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)


class InvitationCreate(Schema):
    email: str = Field(max_length=254)
    role: Role


class InvitationOut(Schema):
    id: UUID
    email: str
    role: Role
    status: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_status(obj: Invitation) -> str:
        if obj.accepted_at:
            return "accepted"
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "pending"


class ApiKeyCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.ADMINISTRATOR


class ApiKeyOut(Schema):
    id: UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. Shown only in this response.")


class DocumentOut(Schema):
    id: int
    description: str
    uploaded_at: datetime
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.file.name.rsplit("/", 1)[-1].split("-", 1)[-1]
