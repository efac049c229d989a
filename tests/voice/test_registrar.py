"""The registrar (chappe.voice.registrar) on a fake directory and injected clocks: digest
challenges, credentials, throttling, validation of hostile REGISTERs. The digest answers
are computed by another implementation (aiosipua's client side); SIPp's are in
tests/voice/test_registrar_sipp.py."""

import asyncio
from dataclasses import replace

import pytest
from aiosipua.auth import SipDigestAuth, build_credentials
from aiosipua.headers import parse_auth, stringify_auth

from chappe.common.throttle import FailureThrottle
from chappe.voice.directory import SipCredentials
from chappe.voice.registrar import Registrar
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import RegisterRequest
from chappe.voice.sip.digest import NONCE_TTL

SECRET = b"engine secret"
REGISTRAR = "sip:127.0.0.1:5060"
ALICE = SipCredentials(username="alice", password="s3cret", account_id="acc-1",
                       agent_id="agent-1")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeDirectory:
    def __init__(self, *credentials: SipCredentials) -> None:
        self.credentials = {c.username: c for c in credentials}
        self.lookups: list[str] = []

    async def sip_credentials(self, username):
        self.lookups.append(username)
        return self.credentials.get(username)


class Setup:
    def __init__(self) -> None:
        self.wall = Clock(1_800_000_000.0)
        self.clock = Clock(500.0)
        self.directory = FakeDirectory(ALICE)
        self.table = Registrations(clock=self.clock)
        self.throttle = FailureThrottle(free=3, base=60, clock=self.clock)
        self.registrar = Registrar(self.directory, self.table, secret=SECRET,
                                   throttle=self.throttle, wall=self.wall)

    def send(self, request: RegisterRequest):
        return asyncio.run(self.registrar.register(request))

    def authenticated(self, request: RegisterRequest, *, password="s3cret",
                      username="alice"):
        """`request` answered with credentials to the challenge its first sending gets."""
        challenge = self.send(request)
        assert challenge.status == 401, challenge
        [(name, value)] = challenge.headers
        assert name == "WWW-Authenticate"
        header = stringify_auth(build_credentials(
            SipDigestAuth(username, password), parse_auth(value), "REGISTER", request.uri))
        return replace(request, cseq=f"{int(request.cseq.split()[0]) + 1} REGISTER",
                       authorization=header)


@pytest.fixture
def setup():
    return Setup()


def register(contacts=("<sip:alice@192.168.1.20:5062>",), *, expires="600", cseq=1,
             to="<sip:alice@127.0.0.1>", call_id="reg-1", source=("203.0.113.5", 40000),
             **fields):
    return RegisterRequest(uri=REGISTRAR, to=to, call_id=call_id, cseq=f"{cseq} REGISTER",
                           contacts=list(contacts), expires=expires, authorization="",
                           source=source, transport="udp", **fields)


def test_a_challenge_then_the_right_answer_registers_the_contact(setup):
    reply = setup.send(setup.authenticated(register()))
    assert reply.status == 200
    assert ("Contact", "<sip:alice@192.168.1.20:5062>;expires=600") in reply.headers
    assert ("Date", "Fri, 15 Jan 2027 08:00:00 GMT") in reply.headers
    [binding] = setup.registrar.contacts_of("alice")
    assert (binding.source, binding.transport) == (("203.0.113.5", 40000), "udp")
    assert (binding.account_id, binding.agent_id) == ("acc-1", "agent-1")
    assert setup.registrar.contacts_of_agent("agent-1") == [binding]


def test_a_wrong_password_or_unknown_user_is_403_and_registers_nothing(setup):
    assert setup.send(setup.authenticated(register(), password="wrong")).status == 403
    unknown = setup.authenticated(register(to="<sip:mallory@127.0.0.1>"),
                                  username="mallory")
    assert setup.send(unknown).status == 403
    assert setup.directory.lookups == ["alice", "mallory"]
    assert setup.table.contacts_of("alice") == []


def test_a_phone_registers_only_its_own_address(setup):
    bob_to = setup.authenticated(register(to="<sip:bob@127.0.0.1>"))
    reply = setup.send(bob_to)
    assert (reply.status, reply.reason) == (403, "Forbidden (To is another user)")
    assert setup.table.contacts_of("bob") == []


def test_a_stale_nonce_is_challenged_again_with_stale_true(setup):
    request = setup.authenticated(register())
    setup.wall.now += NONCE_TTL + 1
    reply = setup.send(request)
    assert reply.status == 401
    assert reply.headers[0][1].endswith("stale=true")
    assert setup.throttle.retry_after("203.0.113.5") == 0  # not a failure


def test_failures_from_one_address_are_throttled_and_others_are_not(setup):
    for _ in range(3):
        assert setup.send(setup.authenticated(register(), password="guess")).status == 403
    other = register(call_id="reg-2", source=("198.51.100.9", 5060))
    good = setup.authenticated(other)
    throttled = replace(good, source=("203.0.113.5", 40000))
    reply = setup.send(throttled)
    assert reply.status == 503
    assert reply.headers == [("Retry-After", "60")]
    assert setup.send(register(call_id="reg-3")).status == 503  # even unauthenticated
    assert len(setup.directory.lookups) == 3  # no credential check while throttled
    # Another address, and this one once its delay has passed, are served.
    assert setup.send(good).status == 200
    setup.clock.now += 61
    assert setup.send(replace(throttled, cseq="9 REGISTER")).status == 200


def test_too_brief_is_423_with_min_expires(setup):
    reply = setup.send(setup.authenticated(register(expires="30")))
    assert (reply.status, reply.headers) == (423, [("Min-Expires", "60")])


def test_unregister_with_the_wildcard_and_with_expires_0(setup):
    two = register(["<sip:alice@192.168.1.20:5062>", "<sip:alice@10.0.0.7:5070>"])
    assert setup.send(setup.authenticated(two)).status == 200
    one_off = setup.authenticated(register(["<sip:alice@10.0.0.7:5070>;expires=0"],
                                           cseq=3))
    reply = setup.send(one_off)
    assert [v for n, v in reply.headers if n == "Contact"] == [
        "<sip:alice@192.168.1.20:5062>;expires=600"]
    everything = setup.authenticated(register(["*"], expires="0", cseq=5))
    reply = setup.send(everything)
    assert reply.status == 200
    assert [n for n, _v in reply.headers] == ["Date"]
    assert setup.registrar.contacts_of("alice") == []


HOSTILE = [
    (dict(to="<sip:127.0.0.1>"), "To names no user"),
    (dict(to="garbage"), "To names no user"),
    (dict(to=f"<sip:{'a' * 65}@127.0.0.1>"), "To names no user"),
    (dict(cseq="x REGISTER"), "CSeq"),
    (dict(cseq="1 INVITE"), "CSeq"),
    (dict(cseq=f"{2**31} REGISTER"), "CSeq"),
    (dict(cseq="9" * 5000 + " REGISTER"), "CSeq"),
    (dict(expires="soon"), "Expires"),
    (dict(expires="-1"), "Expires"),
    (dict(contacts=["<mailto:alice@example.com>"]), "Contact"),
    (dict(contacts=["<sip:alice@h>;expires=never"]), "Contact expires"),
    (dict(contacts=["sip:alice@h>"]), "Contact"),
    (dict(contacts=["*"], expires="60"), "Contact: * needs Expires: 0 and no other contact"),
    (dict(contacts=["*", "<sip:alice@h>"], expires="0"),
     "Contact: * needs Expires: 0 and no other contact"),
    (dict(to="<sip:al\x00ice@127.0.0.1>"), "control character in a header"),
    (dict(contacts=["<sip:alice@h\x00>"]), "control character in a header"),
    (dict(call_id="a\x00b"), "control character in a header"),
]


@pytest.mark.parametrize(("fields", "reason"), HOSTILE)
def test_a_malformed_register_is_400_with_its_reason_before_any_lookup(setup, fields,
                                                                        reason):
    fields = dict(fields)
    cseq = fields.pop("cseq", None)
    request = register(**fields)
    if cseq is not None:
        request = replace(request, cseq=cseq)
    reply = setup.send(request)
    assert (reply.status, reply.reason) == (400, f"Bad Request ({reason})")
    assert setup.directory.lookups == []


def test_a_huge_expires_is_read_as_the_maximum(setup):
    reply = setup.send(setup.authenticated(register(expires="9" * 5000)))
    assert reply.status == 200
    assert ("Contact", "<sip:alice@192.168.1.20:5062>;expires=7200") in reply.headers


def test_an_addr_spec_contact_keeps_its_parameters_as_the_header_s(setup):
    """Without angle brackets, `;expires=` belongs to the Contact header (RFC 3261
    §20.10), not to the URI."""
    reply = setup.send(setup.authenticated(register(["sip:alice@192.168.1.20;expires=120"])))
    assert ("Contact", "<sip:alice@192.168.1.20>;expires=120") in reply.headers


def test_ipv6_and_named_hosts_are_contacts_too(setup):
    contacts = ["<sip:alice@[2001:db8::7]:5062;transport=tcp>", "<sips:alice@phone.example>"]
    reply = setup.send(setup.authenticated(register(contacts)))
    assert reply.status == 200
    assert sorted(b.uri for b in setup.registrar.contacts_of("alice")) == [
        "sip:alice@[2001:db8::7]:5062;transport=tcp", "sips:alice@phone.example"]
