"""Users and invitations: list, invite, change a role, deactivate, revoke an invitation."""

from uuid import UUID

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts import selectors
from chappe.accounts.actor import Actor
from chappe.accounts.models import Invitation, User
from chappe.accounts.roles import Perm, Role, role_allows
from chappe.accounts.services import invitation_revoke, user_invite, user_update
from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import InviteForm, RoleForm
from chappe.web.views.common import confirmed_action


def _pending(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    return invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                              expires_at__gt=timezone.now())


def _row_context(actor: Actor) -> dict:
    return {"can_manage": actor.can(Perm.USERS_MANAGE), "roles": Role.choices}


@account_view(Perm.USERS_VIEW)
def user_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    can_manage = actor.can(Perm.USERS_MANAGE)
    form = InviteForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        actor.require(Perm.USERS_MANAGE)
        assert form is not None
        if form.is_valid():
            try:
                invitation, _token = user_invite(actor=actor, account=actor.account,
                                                 email=form.cleaned_data["email"],
                                                 role=form.cleaned_data["role"])
            except REFUSALS:
                raise  # the central 403 / 404 pages
            except ChappeError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("An invitation was sent to %(email)s.")
                                 % {"email": invitation.email})
                return redirect("web:users")
    invitations = (
        _pending(selectors.invitation_list(account=actor.account)).select_related("invited_by")
        if can_manage else []
    )
    return render(request, "web/users.html", {
        "users": selectors.user_list(account=actor.account),
        "invitations": invitations,
        "form": form,
        **_row_context(actor),
    })


@require_POST
@account_view(Perm.USERS_MANAGE)
def user_role(request: HttpRequest, actor: Actor, user_id: UUID) -> HttpResponse:
    user = selectors.user_get(account=actor.account, id=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect("web:users")
    try:
        user_update(actor=actor, user=user, role=form.cleaned_data["role"])
    except REFUSALS:
        raise  # the central 403 / 404 pages
    except ChappeError as exc:
        messages.error(request, exc.message)
        return redirect("web:users")
    messages.success(request, _("%(email)s is now %(role)s.")
                     % {"email": user.email, "role": user.get_role_display()})
    if user.pk == request.user.pk and not role_allows(user.role, Perm.USERS_VIEW):
        return redirect("web:home")  # one's own new role may not see this page
    return redirect("web:users")


@account_view(Perm.USERS_MANAGE)
def user_deactivate(request: HttpRequest, actor: Actor, user_id: UUID) -> HttpResponse:
    user = selectors.user_get(account=actor.account, id=user_id)

    def row(result: User) -> HttpResponse:
        return render(request, "web/partials/user_row.html", {"u": result, **_row_context(actor)})

    return confirmed_action(
        request,
        act=lambda: user_update(actor=actor, user=user, is_active=False),
        question=_("Deactivate %(email)s? They will no longer be able to log in; their "
                   "history is kept.") % {"email": user.email},
        button=_("Deactivate"),
        back=reverse("web:users"),
        done=_("%(email)s was deactivated.") % {"email": user.email},
        row=row,
    )


@require_POST
@account_view(Perm.USERS_MANAGE)
def user_reactivate(request: HttpRequest, actor: Actor, user_id: UUID) -> HttpResponse:
    user = selectors.user_get(account=actor.account, id=user_id)
    try:
        user_update(actor=actor, user=user, is_active=True)
    except REFUSALS:
        raise  # the central 403 / 404 pages
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(email)s was reactivated.") % {"email": user.email})
    return redirect("web:users")


@account_view(Perm.USERS_MANAGE)
def invitation_revoke_view(request: HttpRequest, actor: Actor, invitation_id: UUID) -> HttpResponse:
    invitation = selectors.invitation_get(account=actor.account, id=invitation_id)

    def row(result: Invitation) -> HttpResponse:
        return render(request, "web/partials/invitation_row.html",
                      {"invitation": result, **_row_context(actor)})

    return confirmed_action(
        request,
        act=lambda: invitation_revoke(actor=actor, invitation=invitation),
        question=_("Revoke the invitation sent to %(email)s? Its link will stop working.")
        % {"email": invitation.email},
        button=_("Revoke"),
        back=reverse("web:users"),
        done=_("The invitation to %(email)s was revoked.") % {"email": invitation.email},
        row=row,
    )
