"""Tenant isolation of the compatibility APIs (ARCHITECTURE convention 3): account A,
with its own valid credentials, names account B's messages on every operation of the
three APIs and gets each protocol's "not found" — and B's rows stay as they were. Every
list A reads shows none of B's ids or markers. Positive controls: the same calls with
A's own ids reach A's objects, and B's lists show B's markers.

The tenants are the harness's (tests/tenancy, every app's seed, tests/tenancy/compat.py
for these APIs)."""

import base64
import json

from django.test import Client

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from tests.tenancy import Tenant, tenant_rows

TWILIO = "/2010-04-01/Accounts/{sid}"


def _key(t: Tenant) -> str:
    if "raw_key" not in t.objects:
        t.objects["raw_key"] = api_key_create(actor=SYSTEM, account=t.account,
                                              name="compat")[1]
    return t.objects["raw_key"]


def _basic(t: Tenant) -> dict[str, str]:
    token = base64.b64encode(f"{t.account.twilio_account_sid}:{_key(t)}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _ids(t: Tenant) -> dict[str, str]:
    o = t.objects
    return {"twilio_sid": "SM" + o["compat_twilio"].id.hex,
            "rest_id": str(o["compat_smsmode_rest"].id),
            "sms_id": o["compat_smsmode_http_send"].id.hex,
            "sms_id_rest": o["compat_smsmode_rest_send"].id.hex}


def by_id_calls(caller: Tenant, owner: Tenant) -> list[tuple[str, object]]:
    """(name, response) of each by-id operation, `caller`'s credentials, `owner`'s ids."""
    ids, key, sid = _ids(owner), _key(caller), caller.account.twilio_account_sid
    client = Client()
    twilio_one = f"{TWILIO.format(sid=sid)}/Messages/{ids['twilio_sid']}.json"
    rest_one = f"/sms/v1/messages/{ids['rest_id']}"
    rest = {"headers": {"X-Api-Key": key}}
    calls = [
        ("twilio fetch", client.get(twilio_one, headers=_basic(caller))),
        ("twilio cancel", client.post(twilio_one, {"Status": "canceled"},
                                      headers=_basic(caller))),
        ("twilio redact", client.post(twilio_one, {"Body": ""}, headers=_basic(caller))),
        ("twilio delete", client.delete(twilio_one, headers=_basic(caller))),
        ("rest get", client.get(rest_one, **rest)),
        ("rest patch", client.patch(rest_one, json.dumps({"body": {"text": "x"}}),
                                    content_type="application/json", **rest)),
        ("rest delete", client.delete(rest_one, **rest)),
    ]
    for operation in ("compteRendu.do", "deleteSMS.do"):
        for sms_id in (ids["sms_id"], ids["sms_id_rest"]):
            calls.append((f"smsmode {operation}", client.get(
                f"/http/1.6/{operation}?accessToken={key}&smsID={sms_id}")))
    return calls


def _refused(name: str, response) -> bool:
    if name.startswith("twilio"):
        return response.status_code == 404 and response.json()["code"] == 20404
    if name.startswith("rest"):
        return response.status_code == 404 and response.json()["errorCode"] == "NOT_FOUND"
    return response.content.decode("iso-8859-15") == "61 | SMS not found"


def test_another_accounts_ids_are_not_found_and_change_nothing(tenant_a, tenant_b):
    before = tenant_rows(tenant_b)
    for name, response in by_id_calls(tenant_a, tenant_b):
        assert _refused(name, response), (name, response.status_code, response.content)
    assert tenant_rows(tenant_b) == before


def test_own_ids_reach_the_objects(tenant_a):
    """Positive control: the same calls on A's own objects are not refused."""
    calls = by_id_calls(tenant_a, tenant_a)
    refused = [(name, response.content) for name, response in calls if _refused(name, response)]
    assert not refused
    assert len(calls) == 11


def list_bodies(caller: Tenant) -> dict[str, str]:
    key, sid, client = _key(caller), caller.account.twilio_account_sid, Client()
    return {
        "twilio list": client.get(f"{TWILIO.format(sid=sid)}/Messages.json?PageSize=1000",
                                  headers=_basic(caller)).content.decode(),
        "rest list": client.get("/sms/v1/messages?pageSize=100",
                                headers={"X-Api-Key": key}).content.decode(),
        "smsList.do": client.get(f"/http/1.6/smsList.do?accessToken={key}"
                                 ).content.decode("iso-8859-15"),
        "responseList.do": client.get(f"/http/1.6/responseList.do?accessToken={key}"
                                      ).content.decode("iso-8859-15"),
    }


def _markers(t: Tenant) -> set[str]:
    return {t.tag, *_ids(t).values()}


def test_lists_never_show_another_accounts_data(tenant_a, tenant_b):
    for name, body in list_bodies(tenant_a).items():
        leaked = {marker for marker in _markers(tenant_b) if marker in body}
        assert not leaked, (name, leaked)
    own = list_bodies(tenant_b)  # positive control: B's lists show B's markers
    assert tenant_b.tag in own["twilio list"]
    assert tenant_b.tag in own["rest list"]
    assert tenant_b.tag in own["smsList.do"]
    assert tenant_b.tag in own["responseList.do"]


def test_one_accounts_sid_with_another_accounts_key_is_refused(tenant_a, tenant_b):
    token = base64.b64encode(
        f"{tenant_b.account.twilio_account_sid}:{_key(tenant_a)}".encode()).decode()
    response = Client().get(f"{TWILIO.format(sid=tenant_b.account.twilio_account_sid)}"
                            "/Messages.json", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    # A's credentials on B's SID in the path: not found, B's messages not listed.
    response = Client().get(f"{TWILIO.format(sid=tenant_b.account.twilio_account_sid)}"
                            "/Messages.json", headers=_basic(tenant_a))
    assert response.status_code == 404
    assert tenant_b.tag not in response.content.decode()
