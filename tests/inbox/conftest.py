from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.messaging.conftest import funded_account  # noqa: F401
from tests.messaging.rcs.conftest import draft_agent, launched_agent  # noqa: F401
from tests.messaging.rcs.test_pipeline import fleet  # noqa: F401
from tests.time2chat.conftest import declaration, t2c_rental  # noqa: F401
