"""A CRM's redirect to an agent, end to end (C-11; decision 0057): a local CRM web service
names an agent by extension; the engine rings that agent's SIPp phone at once, though
the number's own flow leads elsewhere (a menu into a queue they do not answer), in a
queue they do answer, so the queue log sees the call. The same agent not available:
the call goes on its own flow."""

from chappe.agents.crm import DatabaseCrm
from chappe.agents.models import CrmEndpoint, QueueEvent
from chappe.agents.services.setup import MemberDraft, queue_create
from tests.agents.test_crm import CrmServer
from tests.ports import free_port
from tests.voice.sipp_tools import (
    SIPP_TESTS,
    EngineThread,
    Phone,
    RtpSink,
    db_directory,
    scenario,
    sipp,
    wait_for_records,
)
from tests.voice.test_queues_sipp import events, ivr_to, log_in, register

pytestmark = SIPP_TESTS


def _redirected_to(agent, *, number_with, admin_actor, settings):
    """The account's number answers with a menu into "Nobody" (no agent); its CRM
    redirects every caller to `agent`, who answers "VIP"."""
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"  # the CRM is on loopback
    account = admin_actor.account
    nobody = queue_create(actor=admin_actor, account=account, fields={"name": "Nobody"})
    vip = queue_create(actor=admin_actor, account=account, fields={"name": "VIP"},
                       members=[MemberDraft(agent.pk)])
    number_with(ivr_to(nobody), account=account)
    server = CrmServer(b'{"redirect": {"agent": "%s"}}' % agent.extension.encode())
    CrmEndpoint.objects.create(account=account, url=server.url)
    return server, nobody, vip


def _engine():
    directory = db_directory()
    directory.crm = DatabaseCrm()
    return EngineThread(directory=directory)


def test_a_crm_redirect_to_an_agent_rings_their_phone(
        number_with, data_dir, admin_actor, make_agent, licences, settings):
    account = admin_actor.account
    licences(1)
    agent = make_agent()
    server, _nobody, vip = _redirected_to(agent, number_with=number_with,
                                          admin_actor=admin_actor, settings=settings)
    log_in(agent)
    caller_rtp, agent_rtp = RtpSink(), RtpSink(echo=True)
    try:
        with _engine() as engine:
            phone_port = free_port()
            register(engine, agent, data_dir, phone_port)
            phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                          str(agent_rtp.port), cwd=data_dir, port=phone_port)
            try:
                result = sipp(engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                                     wait_ms="1500", talk_ms="3000"),
                              "-key", "caller_rtp", str(caller_rtp.port), cwd=data_dir,
                              timeout=40)
                assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
                inbound, leg = wait_for_records(account, 2)
                status, output = phone.finish()
                assert status == 0, output[-2000:]  # answered, then BYE when the caller left
            finally:
                phone.stop()
    finally:
        server.close()
        caller_rtp.close()
        agent_rtp.close()
    assert len(server.requests) == 1
    assert inbound.flow_path == ["crm-agent-0"]  # never the menu of its own flow
    assert inbound.disposition == "answered"
    assert leg.to_number == f"agent:{agent.pk}"
    assert events(inbound.sip_call_id, queue=vip) == [("offered", agent.pk),
                                                       ("connected", agent.pk),
                                                       ("completed", agent.pk)]


def test_an_agent_not_available_leaves_the_call_on_its_own_route(
        number_with, data_dir, admin_actor, make_agent, licences, settings):
    account = admin_actor.account
    licences(1)
    agent = make_agent()  # logged out
    server, nobody, _vip = _redirected_to(agent, number_with=number_with,
                                          admin_actor=admin_actor, settings=settings)
    try:
        with _engine() as engine:
            result = sipp(engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                                 wait_ms="3000", talk_ms="0"),
                          "-key", "caller_rtp", "9", cwd=data_dir, timeout=30)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            [inbound] = wait_for_records(account, 1)
    finally:
        server.close()
    assert len(server.requests) == 1
    assert inbound.flow_path == ["crm-agent-0", "menu", "support"]
    assert inbound.queue_id == nobody.pk
    assert not QueueEvent.objects.filter(agent=agent).exists()  # never offered
