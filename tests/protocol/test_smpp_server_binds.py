"""Who a bind is and who may bind (issue 12): a bind acts as its own principal
`smpp:<system_id>`, audited as such; failed binds back off per address and per system_id
so that a flood does not hold the password-hash threads; the address is checked before
the password; an unknown system_id and a wrong password look alike; the account's
default alphabet for data_coding 0; the SMPP 3.4 sizes of the credentials."""

import threading

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils.functional import Promise

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Perm
from chappe.audit.models import AuditEntry
from chappe.messaging.models import Message, Send
from chappe.smpp import pdu as P
from chappe.smpp_server.admin import SmppAccountForm
from chappe.smpp_server.bindguard import BindGuard
from chappe.smpp_server.models import SmppAccount
from chappe.smpp_server.protocol import BIND_THREADS
from chappe.smpp_server.services import (
    bind_actor,
    smpp_account_create,
    smpp_bind_authenticate,
)
from tests.protocol.smppclient import Client, Raw

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class CountingHasher(MD5PasswordHasher):
    """Counts password hashes: a bind's cost, whichever way it goes."""

    algorithm = "counting_md5"
    lock = threading.Lock()
    count = 0

    def encode(self, password, salt):
        with CountingHasher.lock:
            CountingHasher.count += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.count = 0
    return CountingHasher


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bind_is_its_own_principal_audited_under_its_label(server, credentials, account,
                                                              other_account):
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    pdu = client.smpp.send_message(
        source_addr_ton=5, source_addr="Acme", dest_addr_ton=1, destination_addr="33612345678",
        short_message=b"Later", schedule_delivery_time="000001000000000R")
    client.read_until(lambda: client.answered([pdu.sequence]))
    message = Message.objects.get(pk=client.responses[pdu.sequence].message_id.decode())
    assert Send.objects.get(pk=message.send_id).created_by == "smpp:acme"
    cancel = P.op.CancelSM(service_type="", message_id=str(message.pk),
                           source_addr_ton=P.ton(5), source_addr_npi=P.npi(0),
                           source_addr="Acme", dest_addr_ton=P.ton(1), dest_addr_npi=P.npi(1),
                           destination_addr="33612345678")
    raw = Raw(server.port)
    assert raw.bind("acme", "pw123") == P.ROK
    raw.send(cancel, 2)
    assert raw.read()[:2] == (0x80000008, P.ROK)
    entries = AuditEntry.objects.filter(account=account, actor_label="smpp:acme")
    assert set(entries.values_list("action", flat=True)) == {"smpp.bind",
                                                             "smpp.message.cancel"}
    assert not entries.filter(is_operator=True).exists()
    assert entries.get(action="smpp.message.cancel").ip == "127.0.0.1"
    # The principal sends and reads messages, nothing else.
    _status, bound = smpp_bind_authenticate(system_id="acme", password="pw123",
                                            peer="127.0.0.1")
    actor = bind_actor(bound, account)
    assert (actor.is_operator, actor.label) == (False, "smpp:acme")
    assert actor.can(Perm.MESSAGING_SEND)
    assert actor.can(Perm.MESSAGING_VIEW)
    assert not any(actor.can(perm) for perm in Perm
                   if perm not in (Perm.MESSAGING_SEND, Perm.MESSAGING_VIEW))
    # Another account's message is not the bind's to cancel.
    smpp_account_create(actor=SYSTEM.on(other_account), account=other_account,
                        system_id="globex", password="pw")
    theirs = Message.objects.filter(account=account).first()
    other = Raw(server.port)
    assert other.bind("globex", "pw") == P.ROK
    other.send(P.op.CancelSM(service_type="", message_id=str(theirs.pk),
                             source_addr_ton=P.ton(5), source_addr_npi=P.npi(0),
                             source_addr="Acme", dest_addr_ton=P.ton(1),
                             dest_addr_npi=P.npi(1), destination_addr="33612345678"), 3)
    assert other.read()[:2] == (0x80000008, P.RCANCELFAIL)
    for sock in (raw, other):
        sock.close()
    client.smpp.disconnect()


def test_unknown_system_id_wrong_password_and_refused_address_look_alike(
        server, hashes, credentials):
    """One answer, one password hash each — from a refused address, the right password
    is refused exactly like a wrong one."""
    answers = []
    for system_id, password in (("acme", "wrong"), ("nobody", "pw123")):
        before = hashes.count
        raw = Raw(server.port)
        answers.append((raw.bind(system_id, password), hashes.count - before))
        raw.close()
    assert answers == [(P.RBINDFAIL, 1), (P.RBINDFAIL, 1)]
    SmppAccount.objects.filter(system_id="acme").update(allowed_ips=["192.0.2.0/24"])
    answers = []
    for password in ("pw123", "wrong"):
        before = hashes.count
        raw = Raw(server.port, source="127.0.0.3")
        answers.append((raw.bind("acme", password), hashes.count - before))
        raw.close()
    assert answers == [(P.RBINDFAIL, 1), (P.RBINDFAIL, 1)]


def test_a_bind_flood_backs_off_and_does_not_hold_up_a_good_bind(server_with, account,
                                                                  hashes, credentials):
    clock = Clock()
    server = server_with(guard=BindGuard(free=3, base=1.0, cap=30.0, clock=clock))
    smpp_account_create(actor=SYSTEM.on(account), account=account, system_id="beta",
                        password="pw456")
    flood = [Raw(server.port, source="127.0.0.2") for _ in range(32)]
    for raw in flood:
        raw.send(P.bind("trx", system_id="acme", password="wrong"), 1)
    good = Raw(server.port)
    before = hashes.count
    assert good.bind("beta", "pw456") == P.ROK
    assert [raw.read()[1] for raw in flood] == [P.RBINDFAIL] * 32
    # Once backing off, wrong binds are refused without hashing: only the first ones
    # (and those already holding a slot) cost a hash.
    assert hashes.count - before <= 3 + BIND_THREADS + 1
    # The system_id backs off too, from any address, until its delay has passed.
    late = Raw(server.port)
    assert late.bind("acme", "pw123") == P.RBINDFAIL
    clock.now += 31
    assert late.bind("acme", "pw123", seq=2) == P.ROK
    for raw in [*flood, good, late]:
        raw.close()


def test_bind_guard_doubles_its_delay_and_forgets_on_success():
    clock = Clock()
    guard = BindGuard(free=2, base=1.0, cap=4.0, clock=clock)
    key = {"ip": "192.0.2.1", "system_id": "acme"}
    guard.failed(**key)
    assert not guard.blocked(**key)
    guard.failed(**key)
    assert guard.blocked(**key)
    assert guard.blocked(ip="198.51.100.1", system_id="acme")  # the system_id's own
    assert guard.blocked(ip="192.0.2.1", system_id="other")  # the address's own
    clock.now += 1.01
    assert not guard.blocked(**key)
    for delay in (2.0, 4.0, 4.0):  # doubles, up to the cap
        guard.failed(**key)
        clock.now += delay - 0.01
        assert guard.blocked(**key)
        clock.now += 0.02
        assert not guard.blocked(**key)
    guard.failed(**key)
    guard.succeeded(**key)
    assert not guard.blocked(**key)


def test_bind_guard_stays_bounded_in_a_flood_of_made_up_system_ids(monkeypatch):
    monkeypatch.setattr("chappe.smpp_server.bindguard.MAX_KEYS", 50)
    clock = Clock()
    guard = BindGuard(free=3, clock=clock)
    for n in range(200):
        guard.failed(ip="192.0.2.1", system_id=f"guess{n}")
    assert len(guard._keys) <= 51
    assert guard.blocked(ip="192.0.2.1", system_id="anyone")  # the address is kept


@pytest.mark.parametrize(("alphabet", "body", "text"), [
    ("gsm", b"caf\x05 \x00", "café @"),
    ("latin1", b"caf\xe9 @", "café @"),
])
def test_data_coding_0_is_read_in_the_accounts_default_alphabet(server, credentials,
                                                                 alphabet, body, text):
    SmppAccount.objects.filter(system_id="acme").update(default_alphabet=alphabet)
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    pdu = client.smpp.send_message(source_addr_ton=5, source_addr="Acme", dest_addr_ton=1,
                                   destination_addr="33612345678", short_message=body,
                                   data_coding=0)
    client.read_until(lambda: client.answered([pdu.sequence]))
    assert not client.errors
    assert Message.objects.get(pk=client.responses[pdu.sequence].message_id.decode()).text \
        == text
    client.smpp.disconnect()


def test_credentials_keep_to_smpp_sizes_in_the_api_and_the_back_office(api, account):
    for fields, field in (({"system_id": "a" * 16, "password": "pw"}, "system_id"),
                          ({"system_id": "acme", "password": "123456789"}, "password"),
                          ({"system_id": "acme", "password": "pw",
                            "default_alphabet": "ebcdic"}, "default_alphabet")):
        response = api.post("/api/v1/smpp/accounts", fields)
        assert response.status_code in (400, 422), fields
        error = response.json()["error"]
        assert field in str(error["details"]), error
    response = api.post("/api/v1/smpp/accounts", {"system_id": "a" * 15, "password": "8" * 8,
                                                   "default_alphabet": "latin1"})
    assert response.status_code == 201, response.content
    assert response.json()["default_alphabet"] == "latin1"
    form = SmppAccountForm(data={"account": account.pk, "system_id": "b" * 16,
                                 "password": "123456789", "allowed_ips": "[]",
                                 "max_binds": 1, "max_msg_per_s": 1,
                                 "default_alphabet": "gsm", "enabled": True})
    assert not form.is_valid()
    assert {"system_id", "password"} <= set(form.errors)
    meta = SmppAccount._meta
    assert (str(meta.verbose_name), str(meta.verbose_name_plural)) == ("SMPP account",
                                                                       "SMPP accounts")
    assert isinstance(meta.verbose_name, Promise)
