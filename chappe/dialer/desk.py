"""The campaigns' desk the voice engine's dialer is handed (`chappe.voice.dialer.
CampaignDesk`; decision 0048): the dialing services on the data, with plain types in and
out. `OnThread` runs it on one database thread of its own, as the engine's directory
runs its desk."""

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from chappe.agents.models import Agent
from chappe.agents.services.states import agent_call_end, agent_connect, agent_rang_out
from chappe.dialer.models import CallCampaign, CampaignState, DialAttempt
from chappe.dialer.services.dialing import (
    agent_for_call,
    campaign_finish_if_done,
    dial_finish,
    dials_due,
)
from chappe.voice.dialer import AgentOffer, CampaignCall, CampaignCallEnd
from chappe.voice.flows import Prompt

logger = logging.getLogger("chappe.dialer")


class CampaignDesk:
    """Synchronous: every call touches the database. `clock` is injectable (tests)."""

    def __init__(self, *, holder: str | None = None,
                 clock: Callable[[], datetime] = timezone.now) -> None:
        self.holder = holder or f"dialer:{socket.gethostname()}:{os.getpid()}"
        self.clock = clock

    def calls_due(self) -> list[CampaignCall]:
        now = self.clock()
        calls = []
        for campaign in CallCampaign.objects.filter(state=CampaignState.RUNNING) \
                .select_related("account", "queue"):
            if campaign_finish_if_done(campaign=campaign, now=now):
                continue
            calls += [CampaignCall(attempt_id=d.attempt_id, campaign_id=d.campaign_id,
                                   account_id=d.account_id, number=d.number,
                                   caller_id=d.caller_id, amd=d.amd,
                                   amd_message=campaign.amd_message)
                      for d in dials_due(campaign=campaign, now=now, holder=self.holder)]
        return calls

    def agent_for(self, call: CampaignCall) -> AgentOffer | None:
        campaign = CallCampaign.objects.select_related("account", "queue").get(
            pk=call.campaign_id)
        agent = agent_for_call(campaign=campaign, call_id=call.attempt_id, now=self.clock())
        return AgentOffer(agent_id=str(agent.pk)) if agent is not None else None

    def _agent(self, call: CampaignCall, offer: AgentOffer) -> tuple[CallCampaign, Agent]:
        campaign = CallCampaign.objects.select_related("account", "queue").get(
            pk=call.campaign_id)
        return campaign, Agent.objects.get(account_id=campaign.account_id, pk=offer.agent_id)

    def agent_answered(self, call: CampaignCall, offer: AgentOffer) -> None:
        campaign, agent = self._agent(call, offer)
        # The agent's campaign panel shows this call's consumer, script and dispositions.
        DialAttempt.objects.filter(pk=call.attempt_id).update(agent=agent)
        agent_connect(account=campaign.account, agent=agent, queue=campaign.queue,
                      call_id=call.attempt_id, wait_seconds=0, now=self.clock())

    def agent_released(self, call: CampaignCall, offer: AgentOffer, *, connected: bool,
                       talk_seconds: int) -> None:
        campaign, agent = self._agent(call, offer)
        if connected:
            agent_call_end(account=campaign.account, agent=agent, queue=campaign.queue,
                           call_id=call.attempt_id, talk_seconds=talk_seconds,
                           now=self.clock())
        else:
            agent_rang_out(account=campaign.account, agent=agent, queue=campaign.queue,
                           call_id=call.attempt_id, now=self.clock())

    def abandon_prompt(self, call: CampaignCall) -> Prompt:
        campaign = CallCampaign.objects.select_related("account").get(pk=call.campaign_id)
        return Prompt(text=f"Bonjour, {campaign.account.name} a tenté de vous joindre. "
                           "Nous vous rappellerons. Au revoir.", language="fr")

    def finish(self, call: CampaignCall, end: CampaignCallEnd) -> None:
        dial_finish(attempt_id=call.attempt_id, outcome=end.outcome, now=end.ended_at,
                    answered_at=end.answered_at, agent_id=end.agent_id or None,
                    sip_call_id=end.sip_call_id)


class OnThread:
    """The desk's methods, awaited on one database thread of their own."""

    def __init__(self, desk: CampaignDesk) -> None:
        self._desk = desk
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialer-db")

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._desk, name)

        async def on_thread(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(_guarded, method, *args, **kwargs))

        return on_thread

    async def close(self) -> None:
        # Run there, so that it closes that thread's connection (not the caller's).
        await asyncio.get_running_loop().run_in_executor(self._executor, _connection_close)
        self._executor.shutdown()


def _connection_close() -> None:
    try:
        connection.close()
    except DatabaseError:  # a connection shared from another thread (SQLite tests)
        logger.debug("database connection not closed", exc_info=True)


def _guarded(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    close_old_connections()
    return method(*args, **kwargs)
