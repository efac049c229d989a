"""What several pages share: the confirm-then-act pattern of destructive actions."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, is_htmx


def confirmed_action(
    request: HttpRequest,
    *,
    act: Callable[[], Any],
    question: str,
    button: str,
    back: str,
    done: str,
    row: Callable[[Any], HttpResponse] | None = None,
) -> HttpResponse:
    """A destructive action behind a confirmation.

    Without JavaScript, the list links to this URL: GET shows a confirmation page whose
    form POSTs back here. With htmx, the list's button asks with `hx-confirm` and POSTs
    directly; the answer is then the updated table `row` (no page reload), or a reload
    showing the error when the service refused."""
    if request.method != "POST":
        return render(request, "web/confirm.html",
                      {"question": question, "button": button, "back": back})
    try:
        result = act()
    except REFUSALS:
        raise  # the central 403 / 404 pages
    except ChappeError as exc:
        messages.error(request, exc.message)
        if is_htmx(request):
            return HttpResponse(headers={"HX-Refresh": "true"})
        return redirect(back)
    if row is not None and is_htmx(request):
        return row(result)
    messages.success(request, done)
    return redirect(back)
