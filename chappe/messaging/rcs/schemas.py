"""The RCS shapes of `/api/v1` (validated by pydantic at the schema layer)."""

from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import Base64Bytes, Field, HttpUrl

from chappe.messaging.models import MessageKind
from chappe.messaging.rcs.content import RcsContent
from chappe.messaging.rcs.models import UseCase


class RcsMessageCreate(Schema):
    recipients: list[str] = Field(min_length=1, max_length=10_000,
                                  description="Numbers in E.164 or national form")
    agent_id: UUID = Field(description="A launched RCS agent of the account")
    content: RcsContent
    fallback_text: str = Field("", max_length=1_600,
                               description="Sent as an SMS (billed as SMS) when the phone is "
                                           "not RCS-capable, or after `fallback_after`")
    fallback_after: int | None = Field(None, description="Seconds without delivery before "
                                                         "the fallback SMS is sent")
    kind: MessageKind = MessageKind.TRANSACTIONAL
    send_at: datetime | None = Field(None, description="ISO 8601 with a time zone")
    callback_url: str = Field("", max_length=500)
    reference: str = Field("", max_length=40)


class _AgentFields(Schema):
    brand_name: str = Field(min_length=1, max_length=40)
    color: str = Field(pattern=r"^#[0-9A-Fa-f]{6}$")
    description: str = Field(min_length=1, max_length=100)
    phone: str = Field(max_length=20)
    website: HttpUrl
    email: str = Field(max_length=254)
    privacy_url: HttpUrl
    terms_url: HttpUrl
    use_case: UseCase
    logo: Base64Bytes | None = Field(None, description="PNG or JPEG, 224x224, ≤ 50 KB, base64")
    banner: Base64Bytes | None = Field(None, description="PNG or JPEG, 1440x448, ≤ 200 KB, "
                                                         "base64")


class RcsAgentCreate(_AgentFields):
    pass


class RcsAgentPatch(_AgentFields):
    brand_name: str | None = Field(None, min_length=1, max_length=40)
    color: str | None = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")
    description: str | None = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=20)
    website: HttpUrl | None = None
    email: str | None = Field(None, max_length=254)
    privacy_url: HttpUrl | None = None
    terms_url: HttpUrl | None = None
    use_case: UseCase | None = None


class RcsReviewOut(Schema):
    carrier: str
    status: str
    reason: str
    decided_at: datetime | None


class RcsAgentOut(Schema):
    id: UUID
    brand_name: str
    sender: str
    color: str
    description: str
    phone: str
    website: str
    email: str
    privacy_url: str
    terms_url: str
    use_case: str
    has_logo: bool
    has_banner: bool
    status: str
    status_reason: str
    submitted_at: datetime | None
    launched_at: datetime | None
    last_used_at: datetime | None
    reviews: list[RcsReviewOut]

    @staticmethod
    def resolve_has_logo(obj) -> bool:
        return bool(obj.logo)

    @staticmethod
    def resolve_has_banner(obj) -> bool:
        return bool(obj.banner)

    @staticmethod
    def resolve_reviews(obj) -> list:
        return list(obj.reviews.all())
