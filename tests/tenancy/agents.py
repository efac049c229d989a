"""Tenant data and path parameters of chappe.agents: a skill, a pause reason, an agent
(logged in, with a queue event), a queue with that agent as member, a callback request."""

from django.utils import timezone

from chappe.accounts.models import User
from chappe.accounts.roles import Role
from chappe.agents.models import (
    Agent,
    AgentSkill,
    CallbackRequest,
    LicencePool,
    PauseReason,
    Queue,
    QueueEvent,
    QueueMember,
    Skill,
    WrapUpCode,
)
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    # Built directly: the accounts seed suspends the contact-center service.
    now = timezone.now()
    user = User.objects.create_user(f"agent-{t.tag}@example.com", "correct-horse-battery-9",
                                    account=t.account, role=Role.AGENT)
    skill = Skill.objects.create(account=t.account, name=f"Skill {t.tag}")
    reason = PauseReason.objects.create(account=t.account, name=f"Lunch {t.tag}")
    code = WrapUpCode.objects.create(account=t.account, name=f"Sale {t.tag}")
    agent = Agent.objects.create(account=t.account, user=user, extension="101",
                                 sip_username=f"sip-{t.tag}", sip_password=f"pw-{t.tag}",
                                 state="available", state_changed_at=now)
    AgentSkill.objects.create(account=t.account, agent=agent, skill=skill, level=5)
    queue = Queue.objects.create(account=t.account, name=f"Queue {t.tag}")
    QueueMember.objects.create(account=t.account, queue=queue, agent=agent)
    LicencePool.objects.create(account=t.account, licences=2)
    QueueEvent.objects.create(account=t.account, agent=agent, queue=queue, kind="login",
                              at=now, call_id=f"call-{t.tag}")
    callback = CallbackRequest.objects.create(
        account=t.account, queue=queue, call_id=f"callback-{t.tag}",
        number=f"+3361234{len(t.tag):04d}", entered_at=now, requested_at=now)
    t.markers |= {f"sip-{t.tag}", f"call-{t.tag}", str(callback.pk)}
    t.objects.update(skill=skill, pause_reason=reason, wrap_up_code=code, agent=agent, queue=queue,
                     callback=callback)


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "skill_id": lambda t: [t.objects["skill"].pk],
    "pause_reason_id": lambda t: [t.objects["pause_reason"].pk],
    "wrap_up_code_id": lambda t: [t.objects["wrap_up_code"].pk],
    "agent_id": lambda t: [t.objects["agent"].pk],
    "queue_id": lambda t: [t.objects["queue"].pk],
    "callback_id": lambda t: [t.objects["callback"].pk],
}

LISTS_WITHOUT_TENANT_DATA = {
    "GET /api/v1/licences": "two counts, no ids",
}
