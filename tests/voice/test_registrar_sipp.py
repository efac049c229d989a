"""The registrar against SIPp phones (scenarios in tests/voice/sipp/): digest challenge,
registration, refusal, unregistration over UDP and TCP; an agent's phones rung together;
hostile REGISTERs answered 400 while other phones keep registering.

The engine runs on a directory that knows one phone user, and on the voice role's own
database directory with an agent of the agents app."""

import socket

import pytest

from chappe.accounts.roles import Role
from chappe.agents.services.setup import agent_create
from chappe.voice.directory import SipCredentials
from chappe.voice.outbound import ring_all
from chappe.voice.registrations import Registrations
from tests.ports import free_port
from tests.voice.sipp_tools import EngineThread, Phone, scenario, sipp

pytestmark = [pytest.mark.slow, pytest.mark.tools("sipp")]

ALICE = SipCredentials(username="alice", password="s3cret", account_id="acc-1",
                       agent_id="agent-1")


class PhoneUsers:
    """The engine's directory for these tests: the phone users' credentials only."""

    def __init__(self, *credentials: SipCredentials) -> None:
        self.credentials = {c.username: c for c in credentials}

    async def sip_credentials(self, username):
        return self.credentials.get(username)

    async def close(self):
        pass


def engine_with(table: Registrations, **kwargs) -> EngineThread:
    return EngineThread(directory=PhoneUsers(ALICE), registrations=table, dialer=False,
                        **kwargs)


def register(engine, cwd, *, name="register.xml", password="s3cret", transport="u1",
             local_port=0):
    result = sipp(engine.port, *scenario(name), "-au", "alice", "-ap", password, cwd=cwd,
                  transport=transport, number="alice", local_port=local_port)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_a_phone_registers_with_digest_then_unregisters(tmp_path, transport):
    table = Registrations()
    with engine_with(table) as engine:
        local = free_port()
        register(engine, tmp_path, transport=transport, local_port=local)
        [binding] = engine.wait_until(lambda: table.contacts_of("alice"))
        name = "UDP" if transport == "u1" else "TCP"
        assert binding.uri == f"sip:alice@127.0.0.1:{local};transport={name}"
        assert binding.transport == ("udp" if transport == "u1" else "tcp")
        assert binding.source[0] == "127.0.0.1"
        if transport == "u1":
            assert binding.source[1] == local  # where it is reachable: its REGISTER's source
        assert binding.agent_id == "agent-1"
        assert binding.user_agent == "SIPp phone"
        register(engine, tmp_path, name="unregister.xml", transport=transport)
        assert engine.wait_until(lambda: not table.contacts_of("alice"))


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_phone_refreshes_its_binding_and_an_out_of_order_register_is_refused(tmp_path):
    clock = Clock()
    table = Registrations(clock=clock)
    with engine_with(table) as engine:
        register(engine, tmp_path, name="register_refresh.xml")
        [binding] = engine.run(_contacts(table))
    # The refresh (CSeq 3, 300 s) holds; the later CSeq 2 (600 s) changed nothing.
    assert (binding.cseq, binding.expires_in(clock.now)) == (3, 300)


def test_the_engine_forgets_expired_bindings_on_its_timer(tmp_path):
    clock = Clock()
    table = Registrations(clock=clock)
    with engine_with(table, sweep_every=0.01) as engine:
        register(engine, tmp_path)  # Expires: 120
        assert engine.run(_contacts(table))
        clock.now += 119
        assert engine.run(_contacts(table))
        clock.now += 1
        assert engine.wait_until(lambda: len(table) == 0)


def test_a_wrong_password_is_refused_403_and_registers_nothing(tmp_path):
    table = Registrations()
    with engine_with(table) as engine:
        register(engine, tmp_path, name="register_refused.xml", password="guess")
        assert engine.run(_contacts(table)) == []


async def _contacts(table):
    return table.contacts_of("alice")


def test_a_call_to_the_agent_rings_every_phone_and_the_first_to_answer_gets_it(tmp_path):
    table = Registrations()
    with engine_with(table) as engine:
        desk, mobile = free_port(), free_port()
        register(engine, tmp_path, local_port=desk)
        register(engine, tmp_path, local_port=mobile)
        assert len(engine.run(_contacts(table))) == 2
        answering = Phone(cwd=tmp_path, port=desk)  # SIPp's built-in uas answers at once
        ringing = Phone(*scenario("ring_only.xml"), cwd=tmp_path, port=mobile)
        try:
            async def ring():
                call = await ring_all(engine.engine.endpoint, table.contacts_of("alice"),
                                      caller="33100000000", timeout=10)
                await call.hangup()
                return call.call_id

            assert engine.run(ring(), timeout=20)
            assert answering.finish()[0] == 0, answering.finish()[1][-2000:]
            code, output = ringing.finish()
            assert code == 0, output[-2000:]  # rang, then was CANCELed
        finally:
            answering.stop()
            ringing.stop()


def _register(*headers: str, call_id: str = "hostile-1") -> bytes:
    return ("REGISTER sip:127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK" + call_id + "\r\n"
            "From: <sip:alice@127.0.0.1>;tag=1\r\n"
            f"Call-ID: {call_id}\r\n" + "".join(f"{h}\r\n" for h in headers)
            + "Content-Length: 0\r\n\r\n").encode()


TO = "To: <sip:alice@127.0.0.1>"
CONTACT = "Contact: <sip:alice@127.0.0.1:9>"
HOSTILE = [
    (_register("CSeq: 1 REGISTER", CONTACT, call_id="h1"), b"400 Missing Required Header"),
    (_register(TO, "CSeq: 1 REGISTER", CONTACT, "Expires: tomorrow", call_id="h2"),
     b"400 Bad Request (Expires)"),
    (_register("To: <sip:al\x00ice@127.0.0.1>", "CSeq: 1 REGISTER", CONTACT, call_id="h3"),
     b"400 Bad Request (control character in a header)"),
    (_register(TO, f"CSeq: {'9' * 3000} REGISTER", CONTACT, call_id="h4"),
     b"400 Bad Request (CSeq)"),
    (_register(TO, "CSeq: 1 REGISTER", "Contact: *", "Expires: 3600", call_id="h5"),
     b"400 Bad Request (Contact: * needs Expires: 0 and no other contact)"),
    (_register(TO, "CSeq: 1 REGISTER", "Contact: <http://example.com>", call_id="h6"),
     b"400 Bad Request (Contact)"),
    (_register("To: <sip:127.0.0.1>", "CSeq: 1 REGISTER", CONTACT, call_id="h7"),
     b"400 Bad Request (To names no user)"),
]


def test_hostile_registers_get_400_with_a_reason_and_other_phones_still_register(tmp_path):
    table = Registrations()
    with engine_with(table) as engine:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        try:
            for datagram, expected in HOSTILE:
                sock.sendto(datagram, ("127.0.0.1", engine.port))
                answer = sock.recv(65535)
                assert answer.startswith(b"SIP/2.0 " + expected), (datagram[:200], answer)
            # A retransmission gets the same answer again (one transaction, one nonce).
            good = _register(TO, "CSeq: 1 REGISTER", CONTACT, call_id="retransmitted")
            sock.sendto(good, ("127.0.0.1", engine.port))
            first = sock.recv(65535)
            sock.sendto(good, ("127.0.0.1", engine.port))
            assert sock.recv(65535) == first
            assert first.startswith(b"SIP/2.0 401 Unauthorized")
        finally:
            sock.close()
        register(engine, tmp_path)
        assert len(engine.run(_contacts(table))) == 1


def test_an_agent_registers_with_the_credentials_the_web_app_shows(transactional_db,
                                                                    data_dir, admin_actor,
                                                                    make_user):
    """The voice role's own directory (chappe.callcenter.directory, wired to the agents
    app): an agent's generated SIP credentials register, a wrong password does not, and a
    deactivated user's phone no longer can."""
    account = admin_actor.account
    user = make_user(account, role=Role.AGENT)
    agent = agent_create(actor=admin_actor, account=account, user_id=user.pk, extension="301")

    def register_as(password, name="register.xml"):
        result = sipp(engine.port, *scenario(name), "-au", agent.sip_username, "-ap",
                      password, cwd=data_dir, number=agent.sip_username)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    with EngineThread(dialer=False) as engine:
        register_as(agent.sip_password)
        [binding] = engine.run(_contacts_of(engine, agent.sip_username))
        assert (binding.agent_id, binding.account_id) == (str(agent.pk), str(account.pk))
        register_as("wrong", name="register_refused.xml")
        assert engine.engine.throttle.failures("127.0.0.1") == 1
        user.is_active = False
        user.save(update_fields=["is_active"])
        register_as(agent.sip_password, name="register_refused.xml")


async def _contacts_of(engine, username):
    return engine.engine.registrar.registrations.contacts_of(username)
