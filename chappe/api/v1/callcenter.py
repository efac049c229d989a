"""Contact-center API: the number catalogue and rentals (C-1), call flows (C-3), call
records (C-9, C-10) and voicemails."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Schema, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.api.v1 import calls as call_control
from chappe.api.v1.base import actor_of
from chappe.callcenter import numbers, recordings, selectors, services, voicemails
from chappe.callcenter.models import RentalStatus
from chappe.common.csv_export import csv_response
from chappe.voice.flows import FlowDefinition

router = Router(tags=["contact center"])


class CatalogueNumberOut(Schema):
    id: int
    e164: str
    country: str
    number_type: str
    monthly_price: str
    currency: str

    @staticmethod
    def resolve_monthly_price(obj) -> str:
        return f"{obj.monthly_price_micros / 1_000_000:.2f}"


class NumberBuyIn(Schema):
    number_id: int = Field(description="A catalogue number's id (GET /numbers/catalogue)")


class NumberOut(Schema):
    id: UUID
    e164: str
    country: str
    number_type: str
    status: str
    flow_id: UUID | None
    monthly_price: str
    currency: str
    billing: str = Field(description="subscription (on the monthly invoice) or prepaid "
                                     "(each month paid in advance from credit)")
    started_at: datetime
    ended_at: datetime | None
    paid_until: datetime | None = Field(description="Prepaid: when the months paid so far "
                                                    "run out (renewed then)")
    suspended_at: datetime | None = Field(description="Suspended (a month unpaid, or the "
                                                      "service terminated): since when")
    rio: str

    @staticmethod
    def resolve_e164(obj) -> str:
        return obj.number.e164

    @staticmethod
    def resolve_country(obj) -> str:
        return obj.number.country

    @staticmethod
    def resolve_number_type(obj) -> str:
        return obj.number.number_type

    @staticmethod
    def resolve_monthly_price(obj) -> str:
        return f"{obj.monthly_price_micros / 1_000_000:.2f}"


class NumberUpdateIn(Schema):
    flow_id: UUID | None = Field(None, description="The flow answering calls (null: none)")


class NumberReleaseIn(Schema):
    ported_out: bool = Field(False, description="True: ported to another operator")


class FlowIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    definition: dict[str, Any] = Field(json_schema_extra={"example": services.DEMO_FLOW})


class FlowUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    definition: dict[str, Any] | None = None


class FlowValidateIn(Schema):
    definition: dict[str, Any]


class FlowValidOut(Schema):
    valid: bool
    definition: dict[str, Any]


class FlowVersionOut(Schema):
    id: UUID
    version: int
    definition: dict[str, Any]
    created_at: datetime


class FlowOut(Schema):
    id: UUID
    name: str
    version: int | None
    definition: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_version(obj) -> int | None:
        current = obj.current
        return current.version if current else None

    @staticmethod
    def resolve_definition(obj) -> dict | None:
        current = obj.current
        return current.definition if current else None


class CallOut(Schema):
    id: UUID
    sip_call_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int
    disposition: str
    hangup_cause: str
    flow_path: list[str]
    digits: str
    transitions: list[dict[str, Any]]
    parent_id: UUID | None
    queue_id: UUID | None = Field(description="The queue the call last waited in")
    agent_id: UUID | None = Field(description="The agent who answered it there")
    queue_wait_seconds: int | None = Field(description="How long the caller waited there")
    recorded: bool = Field(description="The conversation was recorded: "
                                       "GET /calls/{id}/recording")

    @staticmethod
    def resolve_recorded(obj) -> bool:
        return hasattr(obj, "recording")


class VoicemailOut(Schema):
    id: UUID
    call_id: UUID
    duration_ms: int
    created_at: datetime
    listened: bool
    from_number: str

    @staticmethod
    def resolve_from_number(obj) -> str:
        return obj.call.from_number


# --- numbers --------------------------------------------------------------------------


@router.get("/numbers/catalogue", response=list[CatalogueNumberOut])
@paginate(LimitOffsetPagination)
def catalogue_list(request: HttpRequest, country: str | None = None,
                   number_type: str | None = None):
    """Numbers the operator offers for rent (country, type, monthly price)."""
    actor_of(request).require(Perm.CALL_FLOWS_MANAGE)
    return selectors.catalogue_list(country=country, number_type=number_type)


@router.post("/numbers", response={201: NumberOut})
def number_buy(request: HttpRequest, payload: NumberBuyIn):
    """Rent a catalogue number; its monthly fee is billed with the contact-center plan."""
    actor = actor_of(request)
    return Status(201, services.number_buy(actor=actor, account=actor.account,
                                    number_id=payload.number_id))


@router.get("/numbers", response=list[NumberOut])
@paginate(LimitOffsetPagination)
def number_list(request: HttpRequest, status: str | None = None):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.rental_list(account=actor.account, status=status)


@router.get("/number-port-out", response=None)
def number_port_out(request: HttpRequest):
    """CSV of what a porting request needs for each active number (P-9): number, holder,
    SIRET, address, RIO-style reference."""
    actor = actor_of(request, Perm.ACCOUNT_MANAGE)
    return csv_response("port-out.csv", services.PORT_OUT_HEADER,
                        services.port_out_rows(account=actor.account), stream=False)


@router.get("/numbers/{rental_id}", response=NumberOut)
def number_read(request: HttpRequest, rental_id: UUID):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.rental_get(account=actor.account, rental_id=rental_id)


@router.patch("/numbers/{rental_id}", response=NumberOut)
def number_update(request: HttpRequest, rental_id: UUID, payload: NumberUpdateIn):
    """Assign the number to a call flow (or unassign it with `flow_id: null`)."""
    actor = actor_of(request)
    return services.number_assign(actor=actor, account=actor.account, rental_id=rental_id,
                                  flow_id=payload.flow_id)


@router.post("/numbers/{rental_id}/release", response=NumberOut)
def number_release(request: HttpRequest, rental_id: UUID, payload: NumberReleaseIn):
    """Stop renting the number (back to the catalogue, or ported out)."""
    actor = actor_of(request)
    return numbers.number_release(
        actor=actor, account=actor.account, rental_id=rental_id,
        status=RentalStatus.PORTED_OUT if payload.ported_out else RentalStatus.RELEASED)


# --- call flows --------------------------------------------------------------------------


@router.get("/call-flows/schema", response=dict[str, Any])
def flow_schema(request: HttpRequest):
    """The JSON schema of a flow definition."""
    actor_of(request).require(Perm.CALL_FLOWS_MANAGE)
    return FlowDefinition.model_json_schema()


@router.post("/call-flows/validate", response=FlowValidOut)
def flow_validate(request: HttpRequest, payload: FlowValidateIn):
    """Check a definition without saving it: 400 with errors by JSON path, else the
    normalized definition."""
    actor_of(request).require(Perm.CALL_FLOWS_MANAGE)
    actor = actor_of(request)
    return {"valid": True,
            "definition": services.flow_validate(payload.definition, actor.account)}


@router.post("/call-flows", response={201: FlowOut})
def flow_create(request: HttpRequest, payload: FlowIn):
    actor = actor_of(request)
    return Status(201, services.flow_create(actor=actor, account=actor.account, name=payload.name,
                                     definition=payload.definition))


@router.get("/call-flows", response=list[FlowOut])
@paginate(LimitOffsetPagination)
def flow_list(request: HttpRequest):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.flow_list(account=actor.account)


@router.get("/call-flows/{flow_id}", response=FlowOut)
def flow_read(request: HttpRequest, flow_id: UUID):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.flow_get(account=actor.account, flow_id=flow_id)


@router.patch("/call-flows/{flow_id}", response=FlowOut)
def flow_update(request: HttpRequest, flow_id: UUID, payload: FlowUpdateIn):
    """Rename, and/or save a new version of the definition (older versions are kept)."""
    actor = actor_of(request)
    return services.flow_update(actor=actor, account=actor.account, flow_id=flow_id,
                                name=payload.name, definition=payload.definition)


@router.delete("/call-flows/{flow_id}", response={204: None})
def flow_delete(request: HttpRequest, flow_id: UUID):
    actor = actor_of(request)
    services.flow_delete(actor=actor, account=actor.account, flow_id=flow_id)
    return Status(204, None)


@router.get("/call-flows/{flow_id}/versions", response=list[FlowVersionOut])
def flow_versions(request: HttpRequest, flow_id: UUID):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.flow_get(account=actor.account, flow_id=flow_id).versions.all()


# --- uploaded audio prompts ----------------------------------------------------------------


class AudioPromptOut(Schema):
    id: UUID
    name: str
    duration_ms: int
    created_at: datetime


@router.post("/audio-prompts", response={201: AudioPromptOut})
def audio_prompt_upload(request: HttpRequest, file: File[UploadedFile],
                        name: Form[str] = ""):
    """Upload a recording (WAV, …): converted to 8 kHz mono; use its id as a prompt's
    `audio_id` in flows."""
    actor = actor_of(request)
    return Status(201, services.audio_prompt_upload(actor=actor, account=actor.account,
                                                    name=name, file=file))


@router.get("/audio-prompts", response=list[AudioPromptOut])
@paginate(LimitOffsetPagination)
def audio_prompt_list(request: HttpRequest):
    actor = actor_of(request, Perm.CALL_FLOWS_MANAGE)
    return selectors.audio_prompt_list(account=actor.account)


@router.delete("/audio-prompts/{prompt_id}", response={204: None})
def audio_prompt_delete(request: HttpRequest, prompt_id: UUID):
    actor = actor_of(request)
    services.audio_prompt_delete(actor=actor, account=actor.account, prompt_id=prompt_id)
    return Status(204, None)


# --- call records and voicemails -----------------------------------------------------------


@router.get("/calls", response=list[CallOut])
@paginate(LimitOffsetPagination)
def call_list(request: HttpRequest, direction: str | None = None,
              disposition: str | None = None, since: datetime | None = None,
              until: datetime | None = None, number: str | None = None):
    """Call records, newest first (kept 10 years: C-10). `since`/`until` bound the start
    time; `number` matches the caller or the called number."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return selectors.call_list(account=actor.account, direction=direction,
                               disposition=disposition, since=since, until=until,
                               number=number)


@router.post("/calls", response={202: call_control.CallIdOut})
def call_originate(request: HttpRequest, payload: call_control.OriginateIn):
    """Place a call for an agent (click-to-call): their phones (SIP phones and browser)
    ring first; once they answer, the customer is dialled through the account's routes
    with one of its numbers as caller ID. Answered at once with the call's id; how it
    goes comes as call events (`call.ringing`, `call.answered`, `call.ended`). 409
    `call_refused` when the agent has no phone connected."""
    return Status(202, call_control.originate(request, payload))


@router.get("/calls.csv", response=None)
def call_export(request: HttpRequest, direction: str | None = None,
                disposition: str | None = None, since: datetime | None = None,
                until: datetime | None = None, number: str | None = None):
    """The same filters as GET /calls, as CSV."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    records = selectors.call_list(account=actor.account, direction=direction,
                                  disposition=disposition, since=since, until=until,
                                  number=number)
    return csv_response("calls.csv", services.CALLS_CSV_HEADER,
                        services.calls_csv_rows(records))


@router.get("/calls/{call_id}", response=CallOut)
def call_read(request: HttpRequest, call_id: UUID):
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return selectors.call_get(account=actor.account, call_id=call_id)


@router.get("/voicemails", response=list[VoicemailOut])
@paginate(LimitOffsetPagination)
def voicemail_list(request: HttpRequest):
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return selectors.voicemail_list(account=actor.account)


class VoicemailUpdateIn(Schema):
    listened: bool


@router.patch("/voicemails/{voicemail_id}", response=VoicemailOut)
def voicemail_update(request: HttpRequest, voicemail_id: UUID, payload: VoicemailUpdateIn):
    """Mark a voicemail listened (or not)."""
    actor = actor_of(request)
    return voicemails.voicemail_mark(actor=actor, account=actor.account,
                                     voicemail_id=voicemail_id, listened=payload.listened)


@router.delete("/voicemails/{voicemail_id}", response={204: None})
def voicemail_delete(request: HttpRequest, voicemail_id: UUID):
    """Delete the recording; the call record stays (C-10)."""
    actor = actor_of(request)
    voicemails.voicemail_delete(actor=actor, account=actor.account, voicemail_id=voicemail_id)
    return Status(204, None)


@router.get("/calls/{call_id}/recording", response=None)
def call_recording_audio(request: HttpRequest, call_id: UUID):
    """The conversation, stereo 8 kHz WAV: the caller on the left, the agent on the
    right (queues that record; kept six months)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    recording = recordings.recording_get(account=actor.account, call_id=call_id)
    return FileResponse(selectors.data_file(recording.path).open("rb"),
                        content_type="audio/wav", filename=f"call-{call_id}.wav")


@router.delete("/calls/{call_id}/recording", response={204: None})
def call_recording_delete(request: HttpRequest, call_id: UUID):
    """Delete the recording; the call record stays (C-10)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    recordings.recording_delete(actor=actor, account=actor.account, call_id=call_id)
    return Status(204, None)


@router.get("/voicemails/{voicemail_id}/audio", response=None)
def voicemail_audio(request: HttpRequest, voicemail_id: UUID):
    """The recording, 8 kHz mono WAV."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    voicemail = selectors.voicemail_get(account=actor.account, voicemail_id=voicemail_id)
    return FileResponse(selectors.data_file(voicemail.path).open("rb"),
                        content_type="audio/wav", filename=f"voicemail-{voicemail.pk}.wav")
