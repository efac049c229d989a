"""Time2Chat shapes of `/api/v1`."""

from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import Field


class DeclarationIn(Schema):
    rental_id: UUID = Field(description="One of the account's rented 09 numbers")
    client_name: str = Field(min_length=1, max_length=200)
    siret: str = Field(min_length=14, max_length=17)
    usage: str = Field(min_length=1, max_length=500)
    contact_last_name: str = Field(min_length=1, max_length=100)
    contact_first_name: str = Field(min_length=1, max_length=100)
    contact_phone: str = Field(min_length=1, max_length=20)
    contact_email: str = Field(min_length=3, max_length=254)


class DeclarationOut(Schema):
    id: UUID
    number: str
    client_name: str
    siret: str
    usage: str
    contact_last_name: str
    contact_first_name: str
    contact_phone: str
    contact_email: str
    declared_at: datetime
    ended_at: datetime | None
    quarantine_until: datetime | None


class T2cMessageIn(Schema):
    number: str = Field(max_length=20, description="The declared 09 number sending")
    recipient: str = Field(max_length=20)
    text: str = Field(min_length=1, max_length=1_600)
    callback_url: str = Field("", max_length=500)
    reference: str = Field("", max_length=40)
