"""Writes on accounts, sub-accounts, services, users, invitations and API keys.

Every function takes the acting `Actor` explicitly, checks its permission, runs in one
transaction and records an audit entry (P-13) in that same transaction.
"""

from chappe.accounts.services.accounts import (
    account_create,
    account_document_upload,
    account_documents_received,
    account_documents_request,
    account_reactivate,
    account_suspend,
    account_terminate,
    account_update,
)
from chappe.accounts.services.api_keys import (
    api_key_authenticate,
    api_key_create,
    api_key_prefix,
    api_key_revoke,
    api_keys_current,
)
from chappe.accounts.services.ordered import (
    service_order,
    service_reactivate,
    service_require,
    service_suspend,
    service_terminate,
    services_close_due,
)
from chappe.accounts.services.people import (
    invitation_accept,
    invitation_find,
    invitation_revoke,
    invitation_token,
    user_create,
    user_invite,
    user_operator_update,
    user_password_set,
    user_update,
)
from chappe.accounts.services.sign_in import login_failure_record, login_record

__all__ = [
    "account_create",
    "account_document_upload",
    "account_documents_received",
    "account_documents_request",
    "account_reactivate",
    "account_suspend",
    "account_terminate",
    "account_update",
    "api_key_authenticate",
    "api_key_create",
    "api_key_prefix",
    "api_key_revoke",
    "api_keys_current",
    "invitation_accept",
    "invitation_find",
    "invitation_revoke",
    "invitation_token",
    "login_failure_record",
    "login_record",
    "service_order",
    "service_reactivate",
    "service_require",
    "service_suspend",
    "service_terminate",
    "services_close_due",
    "user_create",
    "user_invite",
    "user_operator_update",
    "user_password_set",
    "user_update",
]
