"""Digest checks of inbound INVITEs (chappe.voice.sip.digest) against the credentials
another implementation computes (aiosipua's client side); SIPp's own are in
tests/voice/test_trunks_sipp.py."""

from aiosipua.auth import SipDigestAuth, build_credentials
from aiosipua.headers import parse_auth, stringify_auth

from chappe.voice.sip.digest import (
    NONCE_TTL,
    DigestResult,
    authorization_parse,
    challenge_header,
    digest_check,
    nonce_issue,
)

SECRET, NOW, URI = b"engine secret", 1_800_000_000.0, "sip:33189000077@127.0.0.1:5060"


def answer(username="carrier", password="s3cret", *, realm="chappe", nonce=None, qop=True):
    nonce = nonce or nonce_issue(secret=SECRET, now=NOW)
    challenge = parse_auth(challenge_header(realm=realm, nonce=nonce))
    if not qop:
        del challenge.params["qop"]
    return stringify_auth(build_credentials(SipDigestAuth(username, password), challenge,
                                            "INVITE", URI))


def check(header, *, now=NOW, method="INVITE"):
    return digest_check(header=header, method=method, username="carrier", password="s3cret",
                        realm="chappe", secret=SECRET, now=now)


def test_the_right_answer_passes_with_or_without_qop():
    assert check(answer()) == DigestResult.OK
    assert check(answer(qop=False)) == DigestResult.OK


def test_wrong_answers_are_refused():
    assert check(answer(password="wrong")) == DigestResult.WRONG
    assert check(answer(username="someone")) == DigestResult.WRONG
    assert check(answer(realm="elsewhere")) == DigestResult.WRONG
    assert check(answer(), method="BYE") == DigestResult.WRONG
    forged = nonce_issue(secret=b"not ours", now=NOW)
    assert check(answer(nonce=forged)) == DigestResult.WRONG
    assert check(answer(nonce="not-a-nonce")) == DigestResult.WRONG
    assert check("Basic Y2Fycmllcjpz") == DigestResult.WRONG


def test_no_answer_is_challenged_and_an_old_nonce_is_stale():
    assert check("") == DigestResult.MISSING
    assert check(answer(), now=NOW + NONCE_TTL + 1) == DigestResult.STALE
    assert check(answer(), now=NOW + NONCE_TTL) == DigestResult.OK
    assert challenge_header(realm="chappe", nonce="n", stale=True).endswith("stale=true")


def test_authorization_values_are_parsed_with_quotes_and_tokens():
    assert authorization_parse('Digest username="a b", nc=00000001, qop=auth') == {
        "username": "a b", "nc": "00000001", "qop": "auth"}
    assert authorization_parse("Basic abc") is None
