"""The demo account's RCS agent, launched on the simulator (embedded mode): the demo can
send RCS at once (`runtime.demo.demo_setup`)."""

import io

from django.conf import settings
from PIL import Image

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account
from chappe.messaging.rcs.agents import rcs_agent_create, rcs_agent_review, rcs_agent_submit
from chappe.messaging.rcs.assets import BANNER, LOGO, AssetRule
from chappe.messaging.rcs.models import AgentStatus, RcsAgent

DEMO_BRAND = "Chappe Demo"


def _png(rule: AssetRule, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (rule.width, rule.height), colour).save(out, format="PNG")
    return out.getvalue()


def demo_rcs_agent(*, account: Account) -> RcsAgent:
    """The demo's launched agent (created, submitted and approved by every carrier the
    first time; idempotent)."""
    agent = RcsAgent.objects.filter(account=account, brand_name=DEMO_BRAND).first()
    if agent is None:
        agent = rcs_agent_create(
            actor=SYSTEM.on(account), account=account, logo=_png(LOGO, (30, 60, 160)),
            banner=_png(BANNER, (30, 60, 160)), brand_name=DEMO_BRAND, color="#1E3CA0",
            description="The demo agent on the RCS simulator", phone="+33140000000",
            website="https://chappe.example", email="demo@chappe.example",
            privacy_url="https://chappe.example/privacy",
            terms_url="https://chappe.example/terms", use_case="multi_use")
    if agent.status == AgentStatus.DRAFT:
        agent = rcs_agent_submit(actor=SYSTEM.on(account), agent=agent)
    if agent.status == AgentStatus.PENDING:
        for carrier in settings.CHAPPE_RCS_CARRIERS:
            agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier=carrier, approved=True)
    return agent
