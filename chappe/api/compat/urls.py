"""The compatibility APIs at the originals' paths: only the host changes (M-17)."""

from django.urls import path

from chappe.api.compat import smsmode_http, smsmode_rcs, smsmode_rest, twilio

urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>/Messages.json", twilio.messages_view,
         name="twilio-messages"),
    path("2010-04-01/Accounts/<str:account_sid>/Messages/<str:sid>.json", twilio.message_view,
         name="twilio-message"),
    path("http/1.6/<str:operation>", smsmode_http.operation_view, name="smsmode-http"),
    path("sms/v1/messages", smsmode_rest.messages_view, name="smsmode-rest-messages"),
    path("rcs/v1/messages", smsmode_rcs.messages_view, name="smsmode-rcs-messages"),
    path("sms/v1/messages/<str:message_id>", smsmode_rest.message_view,
         name="smsmode-rest-message"),
]
