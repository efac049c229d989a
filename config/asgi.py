"""The web role's ASGI application: Django, and the engines the web role runs beside it
in each process, handed to the views in the request's scope (explicit wiring, no module
global read by the views): the group commit of single sends (decision 0028), which the
one-recipient send also reaches without Django's request cycle (decision 0038)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from django.urls import get_resolver  # noqa: E402 (after setup)

from chappe.api.v1.single_send import SingleSendPath  # noqa: E402
from chappe.messaging.group_commit import SCOPE_KEY, SmsGroupCommit  # noqa: E402
from chappe.runtime.metrics import request_observe  # noqa: E402
from chappe.web import softphone  # noqa: E402

# Import every view now, not in the first requests (measured: ~2 s of CPU a process,
# seen as a p99 of 600 ms in the first seconds of `bench/api_single.py`).
get_resolver().url_patterns  # noqa: B018 (a lazy property, read for its effect)
sms_group_commit = SmsGroupCommit().start()


async def _django(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"] == softphone.PATH:
        await softphone.softphone_socket(scope, receive, send)  # the browser softphone
        return
    if scope["type"] == "http":
        scope = {**scope, SCOPE_KEY: sms_group_commit}
    await django_application(scope, receive, send)


application = SingleSendPath(django=_django, group_commit=sms_group_commit,
                             observe=request_observe)
