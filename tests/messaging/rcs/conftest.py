import io

import pytest
from PIL import Image

from chappe.accounts.actor import SYSTEM
from chappe.messaging.rcs.agents import rcs_agent_create, rcs_agent_review, rcs_agent_submit
from tests.messaging.conftest import funded_account, simulator  # noqa: F401


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PROFILE = {"brand_name": "Acme", "color": "#C81E1E", "description": "Acme deliveries",
           "phone": "+33140000000", "website": "https://acme.example",
           "email": "rcs@acme.example", "privacy_url": "https://acme.example/privacy",
           "terms_url": "https://acme.example/terms", "use_case": "transactional"}


@pytest.fixture
def draft_agent(account):
    return rcs_agent_create(actor=SYSTEM.on(account), account=account, logo=png(224, 224),
                            banner=png(1440, 448), **PROFILE)


@pytest.fixture
def launched_agent(draft_agent):
    agent = rcs_agent_submit(actor=SYSTEM.on(draft_agent.account), agent=draft_agent)
    return rcs_agent_review(actor=SYSTEM, agent=agent, carrier="orange", approved=True)
