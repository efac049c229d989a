"""Thin endpoints for the account, sub-accounts, users, invitations, API keys, services."""

from django.http import HttpRequest
from ninja import File, Router, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts import selectors, services
from chappe.accounts.roles import Perm
from chappe.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountPatch,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    DocumentOut,
    InvitationCreate,
    InvitationOut,
    ServiceOrder,
    ServiceOut,
    UserOut,
    UserPatch,
)
from chappe.api.v1.base import actor_of

router = Router()


# --- the current account --------------------------------------------------------------


@router.get("/account", response=AccountOut, tags=["account"])
def account_read(request: HttpRequest):
    """The account the key works on (its own, or the sub-account named in X-Account-Id)."""
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return actor.account


@router.patch("/account", response=AccountOut, tags=["account"])
def account_patch(request: HttpRequest, payload: AccountPatch):
    actor = actor_of(request)
    return services.account_update(actor=actor, account=actor.account,
                                   **payload.dict(exclude_unset=True, exclude_none=True))


@router.get("/account/documents", response=list[DocumentOut], tags=["account"])
def document_list(request: HttpRequest):
    actor = actor_of(request, Perm.ACCOUNT_VIEW)
    return actor.account.documents.all()


@router.post("/account/documents", response={201: DocumentOut}, tags=["account"])
def document_upload(request: HttpRequest, file: File[UploadedFile], description: str = ""):
    """Upload a supporting document the operator asked for (P-1)."""
    actor = actor_of(request)
    return Status(201, services.account_document_upload(
        actor=actor, account=actor.account, file=file, description=description
    ))


# --- sub-accounts ---------------------------------------------------------------------


@router.get("/subaccounts", response=list[AccountOut], tags=["sub-accounts"])
@paginate(LimitOffsetPagination)
def subaccount_list(request: HttpRequest):
    actor = actor_of(request, Perm.SUBACCOUNTS_MANAGE)
    return selectors.subaccount_list(account=actor.account)


@router.post("/subaccounts", response={201: AccountOut}, tags=["sub-accounts"])
def subaccount_create(request: HttpRequest, payload: AccountCreate):
    actor = actor_of(request)
    fields = payload.dict(exclude_none=True)
    return Status(201, services.account_create(actor=actor, parent=actor.account, **fields))


@router.get("/subaccounts/{subaccount_id}", response=AccountOut, tags=["sub-accounts"])
def subaccount_read(request: HttpRequest, subaccount_id: str):
    actor = actor_of(request, Perm.SUBACCOUNTS_MANAGE)
    return selectors.subaccount_get(account=actor.account, id=subaccount_id)


@router.patch("/subaccounts/{subaccount_id}", response=AccountOut, tags=["sub-accounts"])
def subaccount_patch(request: HttpRequest, subaccount_id: str, payload: AccountPatch):
    actor = actor_of(request, Perm.SUBACCOUNTS_MANAGE)
    sub = selectors.subaccount_get(account=actor.account, id=subaccount_id)
    return services.account_update(actor=actor.on(sub), account=sub,
                                   **payload.dict(exclude_unset=True, exclude_none=True))


@router.delete("/subaccounts/{subaccount_id}", response=AccountOut, tags=["sub-accounts"])
def subaccount_terminate(request: HttpRequest, subaccount_id: str):
    """Terminate a sub-account: its data is kept until the retention period ends (P-9)."""
    actor = actor_of(request, Perm.SUBACCOUNTS_MANAGE)
    sub = selectors.subaccount_get(account=actor.account, id=subaccount_id)
    return services.account_terminate(actor=actor, account=sub)


# --- services -------------------------------------------------------------------------


@router.get("/services", response=list[ServiceOut], tags=["services"])
def service_list(request: HttpRequest):
    actor = actor_of(request, Perm.SERVICES_VIEW)
    return selectors.service_list(account=actor.account)


@router.post("/services", response={201: ServiceOut}, tags=["services"])
def service_order(request: HttpRequest, payload: ServiceOrder):
    actor = actor_of(request)
    return Status(201, services.service_order(actor=actor, account=actor.account,
                                              kind=payload.kind))


@router.get("/services/{kind}", response=ServiceOut, tags=["services"])
def service_read(request: HttpRequest, kind: str):
    actor = actor_of(request, Perm.SERVICES_VIEW)
    return selectors.service_get(account=actor.account, kind=kind)


@router.delete("/services/{kind}", response=ServiceOut, tags=["services"])
def service_terminate(request: HttpRequest, kind: str):
    """Give notice: the service ends one month from now (P-9)."""
    actor = actor_of(request, Perm.SERVICES_MANAGE)
    service = selectors.service_get(account=actor.account, kind=kind)
    return services.service_terminate(actor=actor, service=service)


# --- users and invitations ------------------------------------------------------------


@router.get("/users", response=list[UserOut], tags=["users"])
@paginate(LimitOffsetPagination)
def user_list(request: HttpRequest):
    actor = actor_of(request, Perm.USERS_VIEW)
    return selectors.user_list(account=actor.account)


@router.get("/users/{user_id}", response=UserOut, tags=["users"])
def user_read(request: HttpRequest, user_id: str):
    actor = actor_of(request, Perm.USERS_VIEW)
    return selectors.user_get(account=actor.account, id=user_id)


@router.patch("/users/{user_id}", response=UserOut, tags=["users"])
def user_patch(request: HttpRequest, user_id: str, payload: UserPatch):
    actor = actor_of(request, Perm.USERS_MANAGE)
    user = selectors.user_get(account=actor.account, id=user_id)
    return services.user_update(actor=actor, user=user, **payload.dict(exclude_unset=True))


@router.delete("/users/{user_id}", response=UserOut, tags=["users"])
def user_deactivate(request: HttpRequest, user_id: str):
    """Deactivate a user: they can no longer log in; their history stays."""
    actor = actor_of(request, Perm.USERS_MANAGE)
    user = selectors.user_get(account=actor.account, id=user_id)
    return services.user_update(actor=actor, user=user, is_active=False)


@router.get("/invitations", response=list[InvitationOut], tags=["users"])
@paginate(LimitOffsetPagination)
def invitation_list(request: HttpRequest):
    actor = actor_of(request, Perm.USERS_MANAGE)
    return selectors.invitation_list(account=actor.account)


@router.post("/invitations", response={201: InvitationOut}, tags=["users"])
def invitation_create(request: HttpRequest, payload: InvitationCreate):
    """Invite someone by e-mail; they choose their own password from the link."""
    actor = actor_of(request)
    invitation, _token = services.user_invite(
        actor=actor, account=actor.account, email=payload.email, role=payload.role
    )
    return Status(201, invitation)


@router.get("/invitations/{invitation_id}", response=InvitationOut, tags=["users"])
def invitation_read(request: HttpRequest, invitation_id: str):
    actor = actor_of(request, Perm.USERS_MANAGE)
    return selectors.invitation_get(account=actor.account, id=invitation_id)


@router.delete("/invitations/{invitation_id}", response=InvitationOut, tags=["users"])
def invitation_revoke(request: HttpRequest, invitation_id: str):
    actor = actor_of(request, Perm.USERS_MANAGE)
    invitation = selectors.invitation_get(account=actor.account, id=invitation_id)
    return services.invitation_revoke(actor=actor, invitation=invitation)


# --- API keys -------------------------------------------------------------------------


@router.get("/api-keys", response=list[ApiKeyOut], tags=["api keys"])
@paginate(LimitOffsetPagination)
def api_key_list(request: HttpRequest):
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    return selectors.api_key_list(account=actor.account)


@router.post("/api-keys", response={201: ApiKeyCreated}, tags=["api keys"])
def api_key_create(request: HttpRequest, payload: ApiKeyCreate):
    """Create a key. The secret is in this response only: store it now."""
    actor = actor_of(request)
    key, raw = services.api_key_create(
        actor=actor, account=actor.account, name=payload.name, role=payload.role
    )
    key.key = raw  # type: ignore[attr-defined]
    return Status(201, key)


@router.get("/api-keys/{key_id}", response=ApiKeyOut, tags=["api keys"])
def api_key_read(request: HttpRequest, key_id: str):
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    return selectors.api_key_get(account=actor.account, id=key_id)


@router.delete("/api-keys/{key_id}", response=ApiKeyOut, tags=["api keys"])
def api_key_revoke(request: HttpRequest, key_id: str):
    """Revoke a key: requests made with it answer 401 from now on."""
    actor = actor_of(request, Perm.API_KEYS_MANAGE)
    key = selectors.api_key_get(account=actor.account, id=key_id)
    return services.api_key_revoke(actor=actor, api_key=key)
