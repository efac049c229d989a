from django.contrib.auth import views as auth_views
from django.urls import path

from chappe.web.views import account, api_keys, audit, billing, public, sms, subaccounts, users

app_name = "web"

urlpatterns = [
    # Public pages.
    path("login/", public.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", public.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", public.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", public.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/complete/", public.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("invitations/<str:token>/", public.invitation_accept_view, name="invitation_accept"),
    # The client's pages (behind login).
    path("", account.home, name="home"),
    path("account/edit/", account.account_edit, name="account_edit"),
    path("subaccounts/", subaccounts.subaccount_list, name="subaccounts"),
    path("subaccounts/<uuid:subaccount_id>/terminate/", subaccounts.subaccount_terminate,
         name="subaccount_terminate"),
    path("users/", users.user_list, name="users"),
    path("users/<uuid:user_id>/role/", users.user_role, name="user_role"),
    path("users/<uuid:user_id>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("users/<uuid:user_id>/reactivate/", users.user_reactivate, name="user_reactivate"),
    path("users/invitations/<uuid:invitation_id>/revoke/", users.invitation_revoke_view,
         name="invitation_revoke"),
    path("api-keys/", api_keys.api_key_list, name="api_keys"),
    path("api-keys/<uuid:key_id>/revoke/", api_keys.api_key_revoke_view, name="api_key_revoke"),
    path("audit/", audit.audit_log, name="audit"),
    # SMS.
    path("sms/", sms.sms_history, name="sms_history"),
    path("sms/send/", sms.sms_send_view, name="sms_send"),
    path("sms/send/preview/", sms.sms_preview_view, name="sms_preview"),
    path("sms/sends/<uuid:send_id>/", sms.sms_send_result, name="sms_send_result"),
    path("sms/export.csv", sms.sms_export, name="sms_export"),
    path("sms/replies/", sms.sms_replies, name="sms_replies"),
    path("sms/<uuid:message_id>/", sms.sms_detail, name="sms_detail"),
    path("sms/<uuid:message_id>/cancel/", sms.sms_cancel, name="sms_cancel"),
    # Billing.
    path("billing/", billing.billing_overview, name="billing"),
    path("billing/credits/buy/", billing.credit_buy, name="credit_buy"),
    path("billing/credits/orders/<uuid:order_id>/", billing.credit_order_detail,
         name="credit_order"),
    path("billing/credits/orders/<uuid:order_id>/pay/", billing.credit_order_pay,
         name="credit_order_pay"),
    path("billing/invoices/", billing.invoice_list, name="invoices"),
    path("billing/invoices/<uuid:invoice_id>/pdf/", billing.invoice_download_pdf,
         name="invoice_pdf"),
    path("billing/invoices/<uuid:invoice_id>/csv/", billing.invoice_download_csv,
         name="invoice_csv"),
    path("billing/usage/", billing.usage_list, name="usage"),
    path("billing/ledger/", billing.ledger_list, name="ledger"),
    path("billing/ledger.csv", billing.ledger_export, name="ledger_export"),
]
