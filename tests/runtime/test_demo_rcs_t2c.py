"""The demo can send RCS (a launched agent, the RCS simulator) and Time2Chat (a declared
09 number) at once, and a second `chappe up` changes nothing."""

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account
from chappe.carriers.models import Connector
from chappe.messaging.rcs.models import RcsAgent
from chappe.messaging.rcs.send import rcs_send
from chappe.runtime.demo import demo_setup
from chappe.time2chat.models import Declaration
from chappe.time2chat.services import t2c_send


def test_the_demo_sends_rcs_and_time2chat(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    demo_setup()
    demo_setup()
    account = Account.objects.get(name="Demo Company", parent=None)
    [agent] = RcsAgent.objects.filter(account=account)
    [declaration] = Declaration.objects.filter(account=account)
    assert agent.status == "launched"
    assert Connector.objects.filter(type="rcs_simulator").exists()
    rcs = rcs_send(actor=SYSTEM.on(account), account=account, recipients=["+33600000201"],
                   agent_id=agent.pk, content={"type": "text", "text": "Hello"})
    t2c = t2c_send(actor=SYSTEM.on(account), account=account, number=declaration.number,
                   recipient="+33600000001", text="Hello from our 09 number")
    assert rcs.recipients[0].status == "queued"
    assert t2c.recipients[0].status == "queued"
    assert t2c.recipients[0].message.sender == "+33939000001"
