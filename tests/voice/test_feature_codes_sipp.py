"""Feature codes from an agent's phone over SIP (chappe.voice.features): SIPp dials *50
and *51 with the agent's digest credentials, hears the outcome and is hung up on; the
agent's state and the queue log follow. A wrong password changes nothing, and a login
beyond the licences is refused on the phone as everywhere else."""

from chappe.agents.acd import State
from chappe.agents.models import QueueEvent
from tests.voice.sipp_tools import SIPP_TESTS, EngineThread, scenario, sipp

pytestmark = SIPP_TESTS


def dial(engine, agent, code, cwd, password=None):
    result = sipp(engine.port, *scenario("auth_caller.xml"), "-au", agent.sip_username,
                  "-ap", password or agent.sip_password, cwd=cwd, number=code)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def state_of(agent):
    agent.refresh_from_db()
    return State(agent.state)


def test_star_codes_log_the_agent_in_pause_unpause_and_out(transactional_db, data_dir,
                                                           make_agent, licences, caplog):
    licences(1)
    agent = make_agent()
    with EngineThread() as engine:
        dial(engine, agent, "*50", data_dir)
        assert state_of(agent) == State.AVAILABLE
        dial(engine, agent, "*51", data_dir)
        assert state_of(agent) == State.PAUSED
        dial(engine, agent, "*51", data_dir)
        dial(engine, agent, "*50", data_dir)
        assert state_of(agent) == State.LOGGED_OUT
    assert list(QueueEvent.objects.filter(agent=agent).values_list("kind", flat=True)) == [
        "login", "pause", "unpause", "logout"]


def test_a_wrong_password_or_no_licence_changes_nothing(transactional_db, data_dir,
                                                        make_agent, licences, caplog):
    agent = make_agent()  # the account has no licence
    with EngineThread() as engine:
        dial(engine, agent, "*50", data_dir, password="guess")  # 401, then 403
        assert "feature code *50 from" in caplog.text
        dial(engine, agent, "*50", data_dir)  # answered: told there is no licence
        assert "feature code *50 dialled by agent" in caplog.text
    assert state_of(agent) == State.LOGGED_OUT
    assert not QueueEvent.objects.filter(agent=agent).exists()
