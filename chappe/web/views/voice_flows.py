"""Call-flow pages (C-3): the account's flows, the step-by-step editor (with an advanced
JSON view and the list of versions), the "listen" rendering of a text-to-speech prompt,
and the recorded prompts a flow can play. Every write goes through
`chappe.callcenter.services`; the editor's form is chappe/web/flow_editor.py."""

import json
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.agents.selectors import queue_list
from chappe.callcenter import selectors, services
from chappe.callcenter.models import RENTAL_HELD, CallFlow
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.voice.media.prompts import PromptError, prompts_dir, tts_render
from chappe.web.auth import REFUSALS, account_view, apply_service_error, is_htmx
from chappe.web.flow_editor import NODE_TYPES, FlowForm
from chappe.web.forms import timezone_names
from chappe.web.views.common import confirmed_action
from chappe.web.voice_forms import AudioPromptForm, ListenForm

STARTER = {"start": "welcome", "nodes": {"welcome": {
    "type": "play", "prompt": {"text": "", "language": "fr"}}}}


def _flows_page(request: HttpRequest, actor: Actor, upload: AudioPromptForm) -> HttpResponse:
    flows = selectors.flow_list(account=actor.account).annotate(
        in_use=Count("numbers", filter=Q(numbers__status__in=RENTAL_HELD)))
    return render(request, "web/voice_flows.html", {
        "flows": flows, "prompts": selectors.audio_prompt_list(account=actor.account),
        "upload": upload})


@account_view(Perm.CALL_FLOWS_MANAGE)
def flow_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _flows_page(request, actor, AudioPromptForm())


# --- the editor -----------------------------------------------------------------------------


@account_view(Perm.CALL_FLOWS_MANAGE)
def flow_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _editor(request, actor, None)


@account_view(Perm.CALL_FLOWS_MANAGE)
def flow_edit(request: HttpRequest, actor: Actor, flow_id: UUID) -> HttpResponse:
    return _editor(request, actor, selectors.flow_get(account=actor.account, flow_id=flow_id))


def _save(actor: Actor, flow: CallFlow | None, form: FlowForm) -> CallFlow | None:
    """Save through the services; on refusal, put the errors on the form."""
    if not form.name:
        form.errors["name"] = [_("Give the flow a name.")]
    definition = form.definition()
    if form.has_errors:
        return None
    try:
        if flow is None:
            return services.flow_create(actor=actor, account=actor.account, name=form.name,
                                        definition=definition)
        return services.flow_update(actor=actor, account=actor.account, flow_id=flow.pk,
                                    name=form.name, definition=definition)
    except REFUSALS:
        raise
    except ValidationFailed as exc:
        form.apply_errors(exc.details or {"flow": [exc.message]})
    except ChappeError as exc:
        form.errors["flow"] = [exc.message]
    return None


def _posted_json(request: HttpRequest, form: FlowForm) -> FlowForm:
    """The flow as typed in the advanced JSON view."""
    try:
        definition = json.loads(request.POST.get("definition_json", ""))
    except ValueError as exc:
        form.errors["json"] = [_("This is not valid JSON: %(error)s") % {"error": exc}]
        return form
    return FlowForm.from_definition(name=form.name, definition=definition)


def _restored(flow: CallFlow | None, form: FlowForm, version: str) -> FlowForm:
    old = flow.versions.filter(version=int(version)).first() if flow and version.isdigit() \
        else None
    if old is None:
        form.errors["flow"] = [_("No such version.")]
        return form
    return FlowForm.from_definition(name=form.name, definition=old.definition)


def _editor(request: HttpRequest, actor: Actor, flow: CallFlow | None) -> HttpResponse:
    json_text = None
    if request.method != "POST":
        current = flow.current if flow else None
        form = FlowForm.from_definition(name=flow.name if flow else "",
                                        definition=current.definition if current else STARTER)
    else:
        form = FlowForm.from_post(request.POST)
        action = request.POST.get("action", "save")
        verb, _sep, arg = action.partition(":")
        if verb == "add":
            form.add(arg)
        elif verb == "remove":
            form.remove(arg)
        elif verb in ("save", "json", "restore"):
            if verb == "json":
                json_text = request.POST.get("definition_json", "")
                form = _posted_json(request, form)
            elif verb == "restore":
                form = _restored(flow, form, arg)
            before = flow.current.version if flow and flow.current else 0
            saved = None if form.has_errors else _save(actor, flow, form)
            if saved is not None:
                after = saved.current.version
                messages.success(request, _("Flow saved: version %(version)s.") % {
                    "version": after} if after != before else _("Flow saved (no change)."))
                url = reverse("web:flow_edit", args=[saved.pk])
                if is_htmx(request):
                    return HttpResponse(headers={"HX-Redirect": url})
                return redirect(url)
    return render(request, "web/voice_flow_edit.html", {
        "flow": flow, "form": form, "node_types": NODE_TYPES,
        "names": form.names(),
        "prompts": list(selectors.audio_prompt_list(account=actor.account)),
        "queues": list(queue_list(account=actor.account)),
        "versions": list(flow.versions.all()) if flow else [],
        "numbers": (selectors.rental_list(account=actor.account).filter(
            flow=flow, status__in=RENTAL_HELD) if flow else []),
        "json_text": json_text if json_text is not None else form.json_text(),
        "json_open": json_text is not None,
        "timezones": timezone_names(),
    })


@account_view(Perm.CALL_FLOWS_MANAGE)
def flow_delete(request: HttpRequest, actor: Actor, flow_id: UUID) -> HttpResponse:
    flow = selectors.flow_get(account=actor.account, flow_id=flow_id)
    return confirmed_action(
        request,
        act=lambda: services.flow_delete(actor=actor, account=actor.account, flow_id=flow.pk),
        question=_("Delete the flow “%(name)s” and all its versions?") % {"name": flow.name},
        button=_("Delete the flow"),
        back=reverse("web:flows"),
        done=_("The flow “%(name)s” was deleted.") % {"name": flow.name},
    )


@account_view(Perm.CALL_FLOWS_MANAGE)
def prompt_listen(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A text-to-speech prompt as callers will hear it (8 kHz WAV), for the editor's
    “listen” buttons. Rendered once and cached, like the engine's prompts."""
    form = ListenForm(request.GET)
    if not form.is_valid():
        return HttpResponse(status=400)
    try:
        path = tts_render(text=form.cleaned_data["text"],
                          language=form.cleaned_data["language"],
                          voice=form.cleaned_data["voice"] or None,
                          cache_dir=prompts_dir(settings.DATA_DIR))
    except PromptError:
        return HttpResponse(_("Text-to-speech is not available on this server."), status=503)
    return FileResponse(path.open("rb"), content_type="audio/wav")


# --- recorded prompts -------------------------------------------------------------------------


@require_POST
@account_view(Perm.CALL_FLOWS_MANAGE)
def audio_prompt_upload(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = AudioPromptForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            prompt = services.audio_prompt_upload(actor=actor, account=actor.account,
                                                  name=form.cleaned_data["name"],
                                                  file=form.cleaned_data["file"])
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Recording “%(name)s” added.") % {"name": prompt.name})
            return redirect(reverse("web:flows") + "#prompts")
    return _flows_page(request, actor, form)


@account_view(Perm.CALL_FLOWS_MANAGE)
def audio_prompt_audio(request: HttpRequest, actor: Actor, prompt_id: UUID) -> HttpResponse:
    prompt = selectors.audio_prompt_get(account=actor.account, prompt_id=prompt_id)
    return FileResponse(selectors.data_file(prompt.path).open("rb"), content_type="audio/wav")


@account_view(Perm.CALL_FLOWS_MANAGE)
def audio_prompt_delete(request: HttpRequest, actor: Actor, prompt_id: UUID) -> HttpResponse:
    prompt = selectors.audio_prompt_get(account=actor.account, prompt_id=prompt_id)
    return confirmed_action(
        request,
        act=lambda: services.audio_prompt_delete(actor=actor, account=actor.account,
                                                 prompt_id=prompt.pk),
        question=_("Delete the recording “%(name)s”?") % {"name": prompt.name},
        button=_("Delete the recording"),
        back=reverse("web:flows") + "#prompts",
        done=_("The recording “%(name)s” was deleted.") % {"name": prompt.name},
    )
