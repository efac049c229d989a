"""CRM lookup on inbound calls (C-11, Graam's custom CRM; decision 0042): the answer's
rules, the lookup against local HTTP servers (one names the caller and redirects to a
queue, one never answers in time, one answers garbage) — the call always goes on — and
the engine's runner taking the redirect."""

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from chappe.agents.crm import DatabaseCrm, flow_queue_ids
from chappe.agents.models import CrmEndpoint, CrmLookupRecord, Queue
from chappe.voice.crm import CrmAnswer, CrmGarbage, CrmReply, consult, parse_reply, route
from chappe.voice.directory import CallTarget
from chappe.voice.flows import flow_parse
from chappe.webhooks.models import WebhookSettings
from chappe.webhooks.signing import HEADER, verify

NUMBER = "+33189000001"
CALLER = "+33612345678"
OWN_FLOW = flow_parse({"start": "bye", "nodes": {"bye": {"type": "hangup"}}})


# --- the answer -------------------------------------------------------------------------


def test_a_full_answer():
    reply = parse_reply(b'{"caller_info": {"full_name": "Ada Lovelace", "caller_profile_url":'
                        b' "https://crm.example/c/42"}, "priority": 5,'
                        b' "redirect": {"queue": "VIP"}}')
    assert reply.caller_info.full_name == "Ada Lovelace"
    assert reply.caller_info.caller_profile_url == "https://crm.example/c/42"
    assert (reply.priority, reply.redirect_kind, reply.redirect_to) == (5, "queue", "VIP")
    assert parse_reply(b"{}") == CrmReply()
    assert parse_reply(b"") == CrmReply()
    # A profile link that is not a web address is dropped, not shown.
    odd = parse_reply(b'{"caller_info": {"full_name": "X", "caller_profile_url": "javascript:1"}}')
    assert odd.caller_info.caller_profile_url == ""


@pytest.mark.parametrize("body", [
    b"<html>oops</html>", b"[1, 2]", b'{"priority": "high"}', b'{"priority": 101}',
    b'{"priority": true}', b'{"redirect": {"ivr": "x"}}', b'{"redirect": "VIP"}',
    b'{"redirect": {"queue": "a", "agent": "b"}}', b'{"caller_info": "Ada"}',
    b'{"caller_info": {"full_name": 3}}', b"\xff\xfe", b"{" + b" " * 70000 + b"}",
])
def test_garbage_is_refused(body):
    with pytest.raises(CrmGarbage):
        parse_reply(body)


# --- against local HTTP servers ---------------------------------------------------------


class CrmServer:
    """A CRM web service on 127.0.0.1: answers `body`, or holds the request until the
    test ends (`hold`)."""

    def __init__(self, body: bytes = b"{}", *, hold: bool = False) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                if hold:
                    server.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/lookup?source=chappe"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def crm_server():
    servers = []

    def start(*args, **kwargs):
        servers.append(CrmServer(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def loopback_allowed(settings):
    # The platform never calls its own network unless the operator opens it: this test does.
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"


def _target(account):
    return CallTarget(account_id=str(account.pk), e164=NUMBER, definition=OWN_FLOW)


def _ask(account):
    target = _target(account)
    answer = asyncio.run(consult(DatabaseCrm(), target, CALLER))
    return target, answer


@pytest.mark.django_db(transaction=True)
def test_the_crm_names_the_caller_and_redirects_to_a_queue(account, crm_server,
                                                           loopback_allowed):
    vip = Queue.objects.create(account=account, name="VIP")
    server = crm_server(b'{"caller_info": {"full_name": "Ada Lovelace"}, "priority": 9,'
                        b' "redirect": {"queue": "vip"}}')
    CrmEndpoint.objects.create(account=account, url=server.url, api_key="k-123")
    target, answer = _ask(account)
    assert answer.reply.caller_info.full_name == "Ada Lovelace"
    routed = route(target, answer)
    assert routed.definition.nodes["crm"].queue_id == str(vip.pk)
    [(path, headers)] = server.requests
    query = parse_qs(urlsplit(path).query)
    assert query == {"source": ["chappe"], "remote_number": [CALLER],
                     "local_number": [NUMBER], "apikey": ["k-123"]}
    secret = WebhookSettings.objects.get(account=account).secret
    assert verify(secret, urlsplit(path).query.encode(), headers[HEADER])
    assert not verify("whsec_other", urlsplit(path).query.encode(), headers[HEADER])
    [record] = CrmLookupRecord.objects.filter(account=account)
    assert (record.outcome, record.redirected, record.call_number) == ("ok", True, NUMBER)


@pytest.mark.django_db(transaction=True)
def test_a_number_endpoint_wins_over_the_account(account, crm_server, loopback_allowed):
    general, own = crm_server(b'{"redirect": {"queue": "nowhere"}}'), crm_server(b"{}")
    CrmEndpoint.objects.create(account=account, url=general.url)
    CrmEndpoint.objects.create(account=account, url=own.url, number=NUMBER)
    target, answer = _ask(account)
    assert (len(own.requests), len(general.requests)) == (1, 0)
    assert route(target, answer) is target


def test_the_queues_a_flow_leads_to_nearest_first():
    flow = flow_parse({"start": "menu", "nodes": {
        "menu": {"type": "menu", "prompt": {"text": "1 or 2"},
                 "options": {"1": "far", "2": "near"}},
        "near": {"type": "queue", "queue_id": "q-near", "next": "far"},
        "far": {"type": "play", "prompt": {"text": "hold on"}, "next": "last"},
        "last": {"type": "queue", "queue_id": "q-last"},
        "orphan": {"type": "queue", "queue_id": "q-orphan"}}})
    assert flow_queue_ids(flow) == ["q-near", "q-last"]  # never reached: not counted
    assert flow_queue_ids(OWN_FLOW) == []
    assert flow_queue_ids(None) == []


@pytest.mark.django_db(transaction=True)
def test_the_most_specific_endpoint_wins(account, other_account, crm_server,
                                         loopback_allowed):
    """Number, then a queue the number's flow leads to, then the account (decision 0057)."""
    vip = Queue.objects.create(account=account, name="VIP")
    theirs = Queue.objects.create(account=other_account, name="VIP")
    general, queued, own = crm_server(b"{}"), crm_server(b"{}"), crm_server(b"{}")
    CrmEndpoint.objects.create(account=account, url=general.url)
    CrmEndpoint.objects.create(account=account, url=queued.url, queue=vip)
    to_vip = flow_parse({"start": "q", "nodes": {"q": {"type": "queue",
                                                       "queue_id": str(vip.pk)}}})
    target = CallTarget(account_id=str(account.pk), e164=NUMBER, definition=to_vip)
    asyncio.run(consult(DatabaseCrm(), target, CALLER))
    assert (len(queued.requests), len(general.requests)) == (1, 0)
    _ask(account)  # its flow reaches no queue: the account's
    assert (len(queued.requests), len(general.requests)) == (1, 1)
    CrmEndpoint.objects.create(account=account, url=own.url, number=NUMBER)
    asyncio.run(consult(DatabaseCrm(), target, CALLER))
    assert (len(own.requests), len(queued.requests)) == (1, 1)
    # Another account's flow naming our queue never reaches our queue's endpoint.
    CrmEndpoint.objects.filter(queue=vip).update(queue=theirs)
    CrmEndpoint.objects.filter(number=NUMBER).delete()
    asyncio.run(consult(DatabaseCrm(), target, CALLER))
    assert (len(queued.requests), len(general.requests)) == (1, 2)


@pytest.mark.django_db(transaction=True)
def test_a_crm_that_times_out_leaves_the_call_on_its_route(account, crm_server,
                                                          loopback_allowed):
    server = crm_server(b'{"redirect": {"queue": "VIP"}}', hold=True)
    CrmEndpoint.objects.create(account=account, url=server.url, timeout_ms=300)
    Queue.objects.create(account=account, name="VIP")
    target, answer = _ask(account)
    assert answer is None
    assert route(target, answer) is target
    [record] = CrmLookupRecord.objects.filter(account=account)
    assert record.outcome == "timeout"
    assert 250 <= record.latency_ms < 1500


@pytest.mark.django_db(transaction=True)
def test_a_crm_that_answers_garbage_is_logged_and_the_call_goes_on(account, crm_server,
                                                                   loopback_allowed, caplog):
    server = crm_server(b"<html>Internal error</html>")
    CrmEndpoint.objects.create(account=account, url=server.url)
    target, answer = _ask(account)
    assert answer is None
    assert route(target, answer) is target
    assert CrmLookupRecord.objects.get(account=account).outcome == "garbage"
    assert "CRM lookup for +33189000001: garbage" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_loopback_is_refused_unless_the_operator_allows_it(account, crm_server, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    server = crm_server(b'{"redirect": {"queue": "VIP"}}')
    CrmEndpoint.objects.create(account=account, url=server.url)
    _unused, answer = _ask(account)
    assert answer is None
    assert server.requests == []
    assert CrmLookupRecord.objects.get(account=account).outcome == "refused_address"


@pytest.mark.django_db(transaction=True)
def test_no_endpoint_no_lookup(account, other_account, crm_server, loopback_allowed):
    server = crm_server(b"{}")
    CrmEndpoint.objects.create(account=other_account, url=server.url)  # not this account's
    _unused, answer = _ask(account)
    assert answer is None
    assert server.requests == []
    assert not CrmLookupRecord.objects.exists()


# --- the engine takes the redirect ------------------------------------------------------


def test_the_runner_runs_the_redirect_flow_or_its_own():
    from tests.voice.test_runner import run

    class FakeCrm:
        def __init__(self, answer=None, fail=False):
            self.answer, self.fail, self.seen = answer, fail, []

        def timeout_for(self, target):
            return 1.0

        async def lookup(self, target, remote):
            if self.fail:
                raise RuntimeError("boom")
            return self.answer

        async def observe(self, target, outcome, seconds, redirected):
            self.seen.append((outcome, redirected))

    redirect = flow_parse({"start": "crm", "nodes": {"crm": {"type": "hangup"}}})
    own = {"start": "own", "nodes": {"own": {"type": "hangup"}}}
    crm = FakeCrm(CrmAnswer(CrmReply(redirect_kind="flow", redirect_to="x"), redirect))
    _call, directory, _runner = run(own, crm=crm)
    assert directory.outcomes[0].state.path == ("crm",)
    assert crm.seen == [("ok", True)]
    failing = FakeCrm(fail=True)
    _call, directory, _runner = run(own, crm=failing)
    assert directory.outcomes[0].state.path == ("own",)
    assert failing.seen == [("error", False)]


@pytest.mark.django_db
def test_supervisors_set_the_endpoints_through_the_api(account, api_for):
    from chappe.accounts.roles import Role

    _rent(account, NUMBER)
    api = api_for(account, Role.SUPERVISOR)
    general = api.request("put", "/api/v1/crm-endpoints", {"url": "https://crm.example/a"})
    assert general.status_code == 200, general.content
    own = api.request("put", "/api/v1/crm-endpoints", {"url": "https://crm.example/b",
                                                       "number": "01 89 00 00 01",
                                                       "timeout_ms": 800})
    assert own.json()["number"] == NUMBER
    again = api.request("put", "/api/v1/crm-endpoints", {"url": "https://crm.example/c"})
    assert again.json()["id"] == general.json()["id"]  # replaced, not added
    assert [e["url"] for e in api.get("/api/v1/crm-endpoints").json()] == [
        "https://crm.example/c", "https://crm.example/b"]
    refused = api.request("put", "/api/v1/crm-endpoints", {"url": "http://127.0.0.1:8000/x"})
    assert refused.status_code == 400
    assert api.delete(f"/api/v1/crm-endpoints/{own.json()['id']}").status_code == 204
    assert api_for(account, Role.AGENT).get("/api/v1/crm-endpoints").status_code == 403


def _rent(owner, e164):
    from chappe.accounts.actor import SYSTEM
    from chappe.callcenter.services import catalogue_number_add, number_buy

    number = catalogue_number_add(e164=e164, number_type="geographic", monthly_price_micros=0)
    return number_buy(actor=SYSTEM.on(owner), account=owner, number_id=number.pk)


@pytest.mark.django_db
def test_an_endpoint_for_a_queue_or_a_number_of_the_account_only(account, other_account,
                                                                 api_for):
    from chappe.accounts.roles import Role

    _rent(other_account, NUMBER)
    ours = Queue.objects.create(account=account, name="Sales")
    theirs = Queue.objects.create(account=other_account, name="Sales")
    api = api_for(account, Role.SUPERVISOR)
    url = "https://crm.example/q"
    queued = api.request("put", "/api/v1/crm-endpoints", {"url": url, "queue_id": str(ours.pk)})
    assert queued.status_code == 200, queued.content
    assert (queued.json()["queue_id"], queued.json()["number"]) == (str(ours.pk), "")
    again = api.request("put", "/api/v1/crm-endpoints", {"url": url + "2",
                                                         "queue_id": str(ours.pk)})
    assert again.json()["id"] == queued.json()["id"]  # replaced, not added
    general = api.request("put", "/api/v1/crm-endpoints", {"url": url})
    assert general.json()["id"] != queued.json()["id"]  # the account's own, besides
    assert general.json()["queue_id"] is None
    other_queue = api.request("put", "/api/v1/crm-endpoints",
                              {"url": url, "queue_id": str(theirs.pk)})
    assert other_queue.status_code == 404
    other_number = api.request("put", "/api/v1/crm-endpoints", {"url": url, "number": NUMBER})
    assert other_number.status_code == 400  # ValidationFailed, the one error shape
    assert "number" in other_number.json()["error"]["details"]
    both = api.request("put", "/api/v1/crm-endpoints",
                       {"url": url, "number": NUMBER, "queue_id": str(ours.pk)})
    assert both.status_code == 400
    assert not CrmEndpoint.objects.filter(account=other_account).exists()
    assert sorted(e["url"] for e in api.get("/api/v1/crm-endpoints").json()) == [url, url + "2"]
