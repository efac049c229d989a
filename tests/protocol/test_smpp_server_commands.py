"""The SMPP server's commands beyond submit_sm (issue 12): sequence_number 0,
submit_multi, replace_sm, unsupported and malformed PDUs; long messages whose first part
only asks for a receipt (as Kannel sends them); a bad submit fails alone, never another
client's (the PostgreSQL case: a NUL character)."""

import re
import signal
import struct
import threading

import pytest
import smpplib.consts
import smpplib.gsm
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from smpp.pdu import smpp_time

from chappe.accounts.actor import SYSTEM
from chappe.carriers.services import simulator_ensure
from chappe.messaging.models import Message
from chappe.smpp import pdu as P
from chappe.smpp_server.models import SmppAccount
from chappe.smpp_server.services import (
    Submit,
    smpp_account_create,
    smpp_bind_authenticate,
    smpp_submits_accept,
)
from tests.processes import role_process, wait_for
from tests.protocol.smppclient import Client, Raw, deliver_all

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _submit(destination: str = "33612345678", text: bytes = b"Hi", **fields):
    return P.submit_sm(source="Acme", source_ton=5, source_npi=0, destination=destination,
                       dest_ton=1, dest_npi=1, short_message=text, data_coding_value=0,
                       **fields)


def _multi(destinations: list[P.DestAddress], text: bytes, registered: int = 0):
    return P.op.SubmitMulti(
        service_type="", source_addr_ton=P.ton(5), source_addr_npi=P.npi(0),
        source_addr="Acme", dest_address=destinations, esm_class=P.esm_class(0),
        protocol_id=0, priority_flag=P.t.PriorityFlag.LEVEL_0, schedule_delivery_time=None,
        validity_period=None, registered_delivery=P.registered_delivery(registered),
        replace_if_present_flag=P.t.ReplaceIfPresentFlag.DO_NOT_REPLACE,
        data_coding=P.data_coding(0), sm_default_msg_id=0, short_message=text)


def test_sequence_number_zero_is_answered_and_keeps_the_connection(server, credentials):
    raw = Raw(server.port)
    assert raw.bind("acme", "pw123", seq=0) == P.ROK
    raw.send(P.op.EnquireLink(), 0)
    assert raw.read()[:3] == (0x80000015, P.ROK, 0)
    raw.send(_submit(), 0)
    command, status, seq, _pdu = raw.read()
    assert (command, status, seq) == (0x80000004, P.ROK, 0)
    raw.send(P.op.EnquireLink(), 7)
    assert raw.read()[:3] == (0x80000015, P.ROK, 7)
    raw.close()


def test_submit_multi_is_one_acceptance_with_the_refused_destinations(server, credentials,
                                                                      account):
    simulator_ensure(config={"latency_ms": 0})
    raw = Raw(server.port)
    assert raw.bind("acme", "pw123", mode="tx") == P.ROK  # receipts go to the receiver
    raw.send(_multi([P.DestAddress("33612345678"), P.DestAddress("33698765432"),
                     P.DestAddress("12"), P.DestAddress("friends", is_list=True)],
                    b"To all", registered=1), 2)
    command, status, _seq, data = raw.read()
    assert (command, status) == (0x80000021, P.ROK)
    answer = P.decode(data)
    send_id = P.text_of(answer.params["message_id"])
    messages = Message.objects.filter(account=account)
    assert {m.recipient for m in messages} == {"+33612345678", "+33698765432"}
    assert {str(m.send_id) for m in messages} == {send_id}
    assert [(u.address, u.status) for u in answer.params["no_unsuccess_sme"]] == [
        ("friends", P.RINVDLNAME), ("12", P.RINVDSTADR)]
    # Every destination's receipt carries the id the client was given.
    deliver_all()
    rx = Client(server.port)
    rx.smpp.bind_receiver(system_id="acme", password="pw123")
    rx.read_until(lambda: len(rx.delivered) >= 2)
    assert [p.receipted_message_id.decode() for p in rx.delivered] == [send_id, send_id]
    raw.send(_multi([], b"Nobody"), 3)
    assert raw.read()[:2] == (0x80000021, P.RINVNUMDESTS)
    raw.close()
    rx.smpp.disconnect()


def test_replace_sm_edits_a_scheduled_message_only(server, credentials):
    raw = Raw(server.port)
    assert raw.bind("acme", "pw123") == P.ROK
    later = _submit(text=b"Old text")
    later.params["schedule_delivery_time"] = smpp_time.parse("000001000000000R")
    raw.send(later, 2)
    _command, status, _seq, data = raw.read()
    assert status == P.ROK
    message_id = P.text_of(P.decode(data).params["message_id"])

    def replace(seq: int, target: str, text: bytes) -> int:
        raw.send(P.op.ReplaceSM(
            message_id=target, source_addr_ton=P.ton(5), source_addr_npi=P.npi(0),
            source_addr="Acme", schedule_delivery_time=None, validity_period=None,
            registered_delivery=P.registered_delivery(0), sm_default_msg_id=0,
            short_message=text), seq)
        command, status, answered, _data = raw.read()
        assert (command, answered) == (0x80000007, seq)
        return status

    assert replace(3, message_id, b"New text") == P.ROK
    message = Message.objects.get(pk=message_id)
    assert (message.text, message.status) == ("New text", "scheduled")
    assert replace(4, "not-an-id", b"x") == P.RINVMSGID
    raw.send(P.op.CancelSM(service_type="", message_id=message_id, source_addr_ton=P.ton(5),
                           source_addr_npi=P.npi(0), source_addr="Acme",
                           dest_addr_ton=P.ton(1), dest_addr_npi=P.npi(1),
                           destination_addr="33612345678"), 5)
    assert raw.read()[:2] == (0x80000008, P.ROK)
    assert replace(6, message_id, b"Too late") == P.RREPLACEFAIL
    raw.close()


def test_unsupported_and_malformed_pdus_get_a_clear_status(server, credentials):
    raw = Raw(server.port)
    assert raw.bind("acme", "pw123") == P.ROK
    data_sm = b"\x00\x00\x00\x00\x01\x01336\x00\x00\x00\x00"
    raw.sock.sendall(struct.pack(">IIII", 16 + len(data_sm), 0x103, 0, 2) + data_sm)
    assert raw.read()[:3] == (0x80000103, P.RINVCMDID, 2)
    for seq, command in ((3, 0x0B), (4, 0x102), (5, 0x111)):  # outbind, alert, broadcast
        raw.sock.sendall(struct.pack(">IIII", 16, command, 0, seq))
        assert raw.read()[:3] == (0x80000000, P.RINVCMDID, seq)
    # A submit_sm whose body stops inside a field: answered, not silently dropped.
    raw.sock.sendall(struct.pack(">IIII", 20, 0x04, 0, 6) + b"abcd")
    command, status, seq, _data = raw.read()
    assert (command, seq) == (0x80000004, 6)
    assert status not in (P.ROK, P.RSYSERR)
    raw.send(P.op.EnquireLink(), 7)
    assert raw.read()[:3] == (0x80000015, P.ROK, 7)
    raw.close()


def test_a_long_message_gets_the_receipt_its_first_part_asked_for(server, credentials):
    """What Kannel sends: UDH parts, registered_delivery on part 1 only; it expects the
    receipt under part 1's id."""
    simulator_ensure(config={"latency_ms": 0})
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    parts, encoding, esm = smpplib.gsm.make_parts("Kannel splits this text. " * 12)
    assert len(parts) > 1
    sequences = [client.smpp.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr="Acme",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL, destination_addr="33612345678",
        short_message=part, data_coding=encoding, esm_class=esm,
        registered_delivery=index == 0).sequence for index, part in enumerate(parts)]
    client.read_until(lambda: client.answered(sequences))
    assert not client.errors
    first = client.responses[sequences[0]].message_id.decode()
    assert first.startswith("part-")
    deliver_all()
    client.read_until(lambda: len(client.delivered) >= 1)
    [receipt] = client.delivered
    assert receipt.receipted_message_id.decode() == first
    assert receipt.message_state == 2
    client.smpp.disconnect()


def _bound(account, system_id: str):
    smpp_account_create(actor=SYSTEM.on(account), account=account, system_id=system_id,
                        password="pw")
    return smpp_bind_authenticate(system_id=system_id, password="pw", peer="127.0.0.1")[1]


def test_a_bad_submit_fails_alone_in_its_batch(account, other_account, buy_credits):
    for tenant in (account, other_account):
        buy_credits(tenant, "100")
    mine, theirs = _bound(account, "mine"), _bound(other_account, "theirs")

    def submit(bound, n: int, body: bytes = b"Hello") -> Submit:
        return Submit(bound=bound, source="Acme", destination=f"+336123456{n:02d}",
                      data_coding=3, body=body, concat=None, registered=0)

    batch = [submit(mine, 0), submit(mine, 1, b"bad\x00text"),
             *(submit(theirs, n) for n in range(20)), submit(mine, 2)]
    answers = smpp_submits_accept(submits=batch)
    assert answers[1] == (P.RINVMSGLEN, "")
    assert [status for status, _id in answers[:1] + answers[2:]] == [P.ROK] * 22
    assert Message.objects.filter(account=other_account).count() == 20


@pytest.mark.parametrize("accept_threads", [1, 2])
def test_two_tenants_submitting_together_on_postgresql(server_with, credentials, other_account,
                                                        buy_credits, accept_threads):
    if connection.vendor != "postgresql":
        pytest.skip("the shared accept transaction breaks on PostgreSQL only")
    server = server_with(accept_threads=accept_threads)
    buy_credits(other_account, "100")
    smpp_account_create(actor=SYSTEM.on(other_account), account=other_account,
                        system_id="globex", password="pw", max_msg_per_s=1000)
    results: dict[str, list[int]] = {}

    def run(system_id: str, password: str, bad: bool) -> None:
        raw = Raw(server.port)
        assert raw.bind(system_id, password) == P.ROK
        for n in range(20):
            pdu = _submit(f"336123456{n:02d}", b"bad\x00" if bad and n % 3 == 0 else b"ok",
                          )
            pdu.params["data_coding"] = P.data_coding(3)
            raw.send(pdu, n + 2)
        results[system_id] = [raw.read()[1] for _ in range(20)]
        raw.close()

    threads = [threading.Thread(target=run, args=args)
               for args in (("acme", "pw123", True), ("globex", "pw", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["globex"] == [P.ROK] * 20
    assert sorted(results["acme"]) == [P.ROK] * 13 + [P.RINVMSGLEN] * 7
    assert Message.objects.filter(account=other_account).count() == 20


def test_the_parts_of_a_long_message_in_concurrent_batches(account, buy_credits):
    """On PostgreSQL batches are accepted two at a time: the parts of a long message,
    each in its own batch at the same moment, still make one message (20 times over)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent accept batches run on PostgreSQL only")
    buy_credits(account, "100")
    bound = _bound(account, "parts")
    barrier = threading.Barrier(2)

    def accept(seq: int) -> None:
        for ref in range(20):
            barrier.wait(5)
            smpp_submits_accept(submits=[Submit(
                bound=bound, source="Acme", destination=f"+336123456{ref:02d}",
                data_coding=3, body=f"part {seq} ".encode(), concat=(ref, 2, seq),
                registered=1)])
        connection.close()

    threads = [threading.Thread(target=accept, args=(seq,)) for seq in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert list(Message.objects.filter(account=account).values_list("text", flat=True)) \
        == ["part 1 part 2 "] * 20


def test_server_processes_share_the_port(credentials, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("server processes need the test database on PostgreSQL")
    # The processes hash as configured, not with the tests' fast hasher.
    SmppAccount.objects.filter(system_id="acme").update(
        password_hash=PBKDF2PasswordHasher().encode("pw123", "saltsaltsalt", iterations=1000))
    port_file = tmp_path / "port"
    process = role_process(tmp_path, "smpp-server", "smpp-server", "--port", "0",
                           "--port-file", str(port_file), "--processes", "2")
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 20, "smpp-server")
        port = int(port_file.read_text())
        pids = set()

        def serving() -> bool:
            pids.update(re.findall(r"\(pid (\d+)\)",
                                   (tmp_path / "smpp-server.log").read_text()))
            return len(pids) == 2

        wait_for(serving, 20, "both server processes to listen")
        binds = [Raw(port) for _ in range(8)]
        assert [raw.bind("acme", "pw123", mode="tx") for raw in binds[:4]] == [P.ROK] * 4
        for raw in binds:
            raw.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0
