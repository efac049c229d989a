"""Tenant data and path parameters of chappe.callcenter: a rented number on a flow, a call
record with a voicemail and a recorded conversation."""

import wave

from django.conf import settings
from django.utils import timezone

from chappe.callcenter.models import (
    AudioPrompt,
    CallFlow,
    CallFlowVersion,
    CallRecord,
    CallRecording,
    NumberRental,
    NumberStatus,
    Voicemail,
)
from chappe.callcenter.services import DEMO_FLOW, catalogue_number_add, flow_validate
from tests.tenancy import IdFactory, NotTenantScoped, Tenant

_counter = iter(range(100, 10_000))


def seed(t: Tenant) -> None:
    # Built directly: the accounts seed suspends the contact-center service.
    now = timezone.now()
    number = catalogue_number_add(e164=f"+3318900{next(_counter):04d}",
                                  number_type="geographic", monthly_price_micros=1_000_000)
    number.status = NumberStatus.RENTED
    number.save()
    flow = CallFlow.objects.create(account=t.account, name=f"Flow {t.tag}")
    CallFlowVersion.objects.create(account=t.account, flow=flow, version=1,
                                   definition=flow_validate(DEMO_FLOW))
    rental = NumberRental.objects.create(account=t.account, number=number, flow=flow,
                                         monthly_price_micros=1_000_000, currency="EUR",
                                         started_at=now, rio=f"RIO{t.tag}")
    call = CallRecord.objects.create(
        account=t.account, sip_call_id=f"call-{t.tag}", direction="inbound",
        from_number="+33600000001", to_number=number.e164, rental=rental, started_at=now,
        answered_at=now, ended_at=now, disposition="voicemail", flow_path=["welcome"])
    relative = f"voice/voicemails/seed-{t.tag}.wav"
    path = settings.DATA_DIR / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 800)
    voicemail = Voicemail.objects.create(account=t.account, call=call, path=relative,
                                         duration_ms=100)
    CallRecording.objects.create(account=t.account, call=call, path=relative, duration_ms=100)
    prompt = AudioPrompt.objects.create(account=t.account, name=f"Prompt {t.tag}",
                                        path=f"voice/uploads/{t.tag}.wav")
    t.objects.update(rental=rental, flow=flow, call=call, voicemail=voicemail, prompt=prompt)


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "rental_id": lambda t: [t.objects["rental"].pk],
    "flow_id": lambda t: [t.objects["flow"].pk],
    "call_id": lambda t: [t.objects["call"].pk],
    "voicemail_id": lambda t: [t.objects["voicemail"].pk],
    "prompt_id": lambda t: [t.objects["prompt"].pk],
}

LISTS_WITHOUT_TENANT_DATA = {
    "GET /api/v1/numbers/catalogue": "the operator's catalogue: the same for every account",
    "GET /api/v1/call-flows/schema": "the JSON schema of flows, not data",
}
