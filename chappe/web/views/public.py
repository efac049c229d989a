"""Pages reachable without being logged in: login, password reset, invitations."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from chappe.accounts.passwords import AuditedSetPasswordForm
from chappe.accounts.services import invitation_accept, invitation_find
from chappe.common.errors import ChappeError
from chappe.web.auth import apply_service_error, client_ip
from chappe.web.forms import InvitationAcceptForm, LoginForm


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def login_locked(request: HttpRequest, response: HttpResponse | None = None,
                 credentials: dict | None = None) -> HttpResponse:
    """What a login locked out by django-axes answers (settings `AXES_*`)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "web/login_locked.html", {"cooloff_minutes": minutes}, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/password_reset_form.html"
    subject_template_name = "web/email/password_reset_subject.txt"
    email_template_name = "web/email/password_reset.txt"
    success_url = reverse_lazy("web:password_reset_done")

    def form_valid(self, form):
        # Links in e-mails point at the public URL, not at whatever Host the request had.
        self.extra_email_context = {"public_url": settings.PUBLIC_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/password_reset_confirm.html"
    form_class = AuditedSetPasswordForm
    success_url = reverse_lazy("web:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/password_reset_complete.html"


@never_cache
@sensitive_post_parameters("password", "password_confirm")
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Join an account from an e-mailed invitation: choose a name and a password."""
    invitation = invitation_find(token=token)
    if invitation is None:
        return render(request, "web/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                password=form.cleaned_data["password"],
                first_name=form.cleaned_data["first_name"].strip(),
                last_name=form.cleaned_data["last_name"].strip(),
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:400],
            )
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! You have joined %(account)s.")
                             % {"account": invitation.account.name})
            return redirect("web:home")
    return render(request, "web/invitation_accept.html",
                  {"form": form, "invitation": invitation})
