"""Address book, imports, red list and recipients' rights endpoints (M-4, M-5, P-12).

Recipient rights take the number in the request body (POST), never in the URL, so it
does not end up in access logs after being erased.
"""

import json
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.common.csv_export import csv_response
from chappe.common.errors import ValidationFailed
from chappe.common.lookup import is_uuid
from chappe.contacts import selectors, services
from chappe.contacts.export import (
    OPT_OUT_HEADER,
    contact_header,
    contact_rows,
    import_errors_response,
    opt_out_rows,
    xlsx_response,
)
from chappe.contacts.models import Contact, ContactImport, ContactList, OptOutSource
from chappe.contacts.schemas import (
    ContactImportDetail,
    ContactImportOut,
    ContactImportPatch,
    ContactIn,
    ContactListIn,
    ContactListOut,
    ContactListPatch,
    ContactOut,
    ContactPatch,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    DedupeIn,
    DedupeOut,
    DuplicatesOut,
    ErasureIn,
    ErasureOut,
    MembersIn,
    MembersOut,
    OptOutIn,
    OptOutOut,
    OptOutRemove,
    PolicyIn,
    PolicyOut,
    RecipientIn,
    RecipientRectify,
    RedListImportOut,
)
from chappe.contacts.tabular import mapping_targets
from chappe.privacy import rights
from chappe.privacy.export import recipient_document
from chappe.privacy.selectors import recipient_data

router = Router(tags=["contacts"])
BUILTIN = ("first_name", "last_name", "company", "phone", "email", "address", "city", "country")


def _actor(request: HttpRequest) -> Actor:
    actor = actor_of(request, Perm.CONTACTS_MANAGE)
    return actor


def _lists(actor: Actor, ids: list[str] | None) -> list[ContactList] | None:
    if ids is None:
        return None
    found = selectors.contact_lists_by_id(account=actor.account, ids=ids)
    if len(found) != len(set(ids)):
        raise ValidationFailed(details={"list_ids": [_("Unknown list.")]})
    return found


def _contacts(actor: Actor, ids: list[str]) -> tuple[list[Contact], list[str]]:
    found = {str(c.pk): c for c in Contact.objects.filter(
        account=actor.account, pk__in=[i for i in ids if is_uuid(i)])}
    return list(found.values()), [i for i in ids if i not in found]


class ContactFilters(Schema):
    search: str | None = None
    list_id: str | None = None
    field: str | None = None
    value: str | None = None


# --- contacts ------------------------------------------------------------------------------


@router.get("/contacts", response=list[ContactOut])
@paginate(LimitOffsetPagination)
def contact_list(request: HttpRequest, filters: Query[ContactFilters]):
    """Contacts by name; `search` matches names, company, e-mail, city or the number;
    `list_id` keeps one list; `field` + `value` match one field (a custom one by its key)."""
    actor = _actor(request)
    return selectors.contact_query(account=actor.account, **filters.dict()).prefetch_related(
        "lists")


@router.post("/contacts", response={201: ContactOut})
def contact_create(request: HttpRequest, payload: ContactIn):
    """Add a contact. Its mobile number is stored in E.164; one contact per number (409)."""
    actor = _actor(request)
    data = payload.dict()
    contact = services.contact_create(
        actor=actor, account=actor.account, mobile=data["mobile"],
        values={name: data[name] for name in BUILTIN}, custom=data["custom"],
        lists=_lists(actor, data["list_ids"]))
    return Status(201, selectors.contact_get(account=actor.account, id=contact.pk))


@router.get("/contacts/export", response={200: None})
def contact_export(request: HttpRequest, filters: Query[ContactFilters],
                   format: Literal["csv", "xlsx"] = "csv"):
    """The contacts (filtered as the list) as CSV (streamed) or XLSX, custom fields and
    list names included."""
    actor = _actor(request)
    specs = list(selectors.field_specs(account=actor.account).values())
    rows = contact_rows(selectors.contact_query(account=actor.account, **filters.dict()), specs)
    if format == "xlsx":
        return xlsx_response("contacts.xlsx", contact_header(specs), rows)
    return csv_response("contacts.csv", contact_header(specs), rows)


@router.get("/contacts/duplicates", response=DuplicatesOut)
def contact_duplicates(request: HttpRequest):
    """Contacts whose numbers are the same once normalised (stored raw, or under older
    rules), and numbers to rewrite in E.164."""
    actor = _actor(request)
    scan = selectors.contact_duplicates(account=actor.account)
    return {"groups": [{"number": g.number, "contacts": g.contacts} for g in scan.groups],
            "contacts_to_remove": scan.extra_contacts, "numbers_to_rewrite": len(scan.renumber),
            "invalid_numbers": scan.invalid}


@router.post("/contacts/duplicates/merge", response=DedupeOut)
def contact_duplicates_merge(request: HttpRequest, payload: DedupeIn):
    """Merge each group of duplicates into its most complete contact (gaps filled from the
    others, every list kept)."""
    actor = _actor(request)
    return services.contacts_dedupe(actor=actor, account=actor.account, numbers=payload.numbers)


@router.get("/contacts/{contact_id}", response=ContactOut)
def contact_read(request: HttpRequest, contact_id: str):
    actor = _actor(request)
    return selectors.contact_get(account=actor.account, id=contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut)
def contact_patch(request: HttpRequest, contact_id: str, payload: ContactPatch):
    """Change the fields given (an empty string clears one; a custom value of null removes
    it); `list_ids`, when given, are the lists the contact is in afterwards."""
    actor = _actor(request)
    contact = selectors.contact_get(account=actor.account, id=contact_id)
    data = payload.dict(exclude_unset=True)
    services.contact_update(
        actor=actor, contact=contact,
        values={k: v if v is not None else "" for k, v in data.items()
                if k in (*BUILTIN, "mobile")},
        custom=data.get("custom"), lists=_lists(actor, data.get("list_ids")))
    return selectors.contact_get(account=actor.account, id=contact.pk)


@router.delete("/contacts/{contact_id}", response={204: None})
def contact_delete(request: HttpRequest, contact_id: str):
    """Delete a contact for good (not the same as putting its number on the red list)."""
    actor = _actor(request)
    services.contact_delete(actor=actor,
                            contact=selectors.contact_get(account=actor.account, id=contact_id))
    return Status(204, None)


# --- lists ------------------------------------------------------------------------------------


@router.get("/contact-lists", response=list[ContactListOut])
@paginate(LimitOffsetPagination)
def contact_list_list(request: HttpRequest):
    actor = _actor(request)
    return selectors.contact_list_query(account=actor.account)


@router.post("/contact-lists", response={201: ContactListOut})
def contact_list_create(request: HttpRequest, payload: ContactListIn):
    actor = _actor(request)
    created = services.contact_list_create(actor=actor, account=actor.account, **payload.dict())
    return Status(201, selectors.contact_list_get(account=actor.account, id=created.pk))


@router.get("/contact-lists/{list_id}", response=ContactListOut)
def contact_list_read(request: HttpRequest, list_id: str):
    """A list (its contacts: GET /contacts?list_id=…)."""
    actor = _actor(request)
    return selectors.contact_list_get(account=actor.account, id=list_id)


@router.patch("/contact-lists/{list_id}", response=ContactListOut)
def contact_list_patch(request: HttpRequest, list_id: str, payload: ContactListPatch):
    actor = _actor(request)
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    services.contact_list_update(actor=actor, contact_list=contact_list,
                                 **payload.dict(exclude_unset=True))
    return selectors.contact_list_get(account=actor.account, id=list_id)


@router.delete("/contact-lists/{list_id}", response={204: None})
def contact_list_delete(request: HttpRequest, list_id: str):
    """Delete a list; its contacts stay in the address book."""
    actor = _actor(request)
    services.contact_list_delete(
        actor=actor, contact_list=selectors.contact_list_get(account=actor.account, id=list_id))
    return Status(204, None)


@router.post("/contact-lists/{list_id}/members", response=MembersOut)
def contact_list_members_add(request: HttpRequest, list_id: str, payload: MembersIn):
    """Put contacts in the list; ids that are not contacts of this account are returned in
    `not_found`."""
    actor = _actor(request)
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    contacts, missing = _contacts(actor, payload.contact_ids)
    added = services.contact_list_add(actor=actor, contact_list=contact_list, contacts=contacts)
    return {"changed": added, "not_found": missing}


@router.post("/contact-lists/{list_id}/members/remove", response=MembersOut)
def contact_list_members_remove(request: HttpRequest, list_id: str, payload: MembersIn):
    """Take contacts out of the list (they stay in the address book)."""
    actor = _actor(request)
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    contacts, missing = _contacts(actor, payload.contact_ids)
    removed = services.contact_list_remove(actor=actor, contact_list=contact_list,
                                           contacts=contacts)
    return {"changed": removed, "not_found": missing}


@router.delete("/contact-lists/{list_id}/members/{contact_id}", response={204: None})
def contact_list_member_delete(request: HttpRequest, list_id: str, contact_id: str):
    """Take one contact out of the list."""
    actor = _actor(request)
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    contact = selectors.contact_get(account=actor.account, id=contact_id)
    services.contact_list_remove(actor=actor, contact_list=contact_list, contacts=[contact])
    return Status(204, None)


# --- custom fields ------------------------------------------------------------------------------


@router.get("/contact-fields", response=list[CustomFieldOut])
@paginate(LimitOffsetPagination)
def custom_field_list(request: HttpRequest):
    actor = _actor(request)
    return selectors.custom_field_query(account=actor.account)


@router.post("/contact-fields", response={201: CustomFieldOut})
def custom_field_create(request: HttpRequest, payload: CustomFieldIn):
    """Add a custom field (text, number, date or choice); its `key` names its value in
    contacts, imports and message placeholders."""
    actor = _actor(request)
    return Status(201, services.custom_field_create(actor=actor, account=actor.account,
                                                    **payload.dict()))


@router.patch("/contact-fields/{field_id}", response=CustomFieldOut)
def custom_field_patch(request: HttpRequest, field_id: str, payload: CustomFieldPatch):
    """Rename a field or change its choices (its key and type stay)."""
    actor = _actor(request)
    field = selectors.custom_field_get(account=actor.account, id=field_id)
    return services.custom_field_update(actor=actor, field=field,
                                        **payload.dict(exclude_unset=True))


@router.delete("/contact-fields/{field_id}", response={204: None})
def custom_field_delete(request: HttpRequest, field_id: str):
    """Delete a field and its value in every contact."""
    actor = _actor(request)
    services.custom_field_delete(
        actor=actor, field=selectors.custom_field_get(account=actor.account, id=field_id))
    return Status(204, None)


# --- imports ------------------------------------------------------------------------------------


def _import_detail(imp: ContactImport) -> ContactImport:
    """The import with what its detail adds: the mapping targets and the preview."""
    specs = list(selectors.field_specs(account=imp.account).values())
    preview = services.contact_import_preview(contact_import=imp) if not imp.is_final else []
    imp.targets = mapping_targets(specs)  # type: ignore[attr-defined]
    imp.preview = [{"line": r.line, "values": r.values, "errors": r.errors,  # type: ignore[attr-defined]
                    "duplicate": r.duplicate} for r in preview]
    return imp


@router.post("/contact-imports", response={201: ContactImportDetail})
def contact_import_create(request: HttpRequest, file: File[UploadedFile],
                          duplicates: Form[Literal["merge", "skip"]] = "merge",
                          list_id: Form[str] = ""):
    """Upload a CSV (UTF-8, Windows-1252 or Latin-1; comma, semicolon or tab) or XLSX file.
    The answer shows the guessed column mapping and a preview of the first rows with their
    errors; correct the mapping with PATCH, then POST …/start. Nothing is imported before."""
    actor = _actor(request)
    target = None
    if list_id:
        target = (selectors.contact_lists_by_id(account=actor.account, ids=[list_id]) or [None])[0]
        if target is None:
            raise ValidationFailed(details={"list_id": [_("Unknown list.")]})
    imp = services.contact_import_create(
        actor=actor, account=actor.account, file_name=file.name or "", data=file.read(),
        duplicates=duplicates, target_list=target, language=get_language() or "en")
    return Status(201, _import_detail(selectors.contact_import_get(account=actor.account,
                                                                   id=imp.pk)))


@router.get("/contact-imports", response=list[ContactImportOut])
@paginate(LimitOffsetPagination)
def contact_import_list(request: HttpRequest):
    actor = _actor(request)
    return selectors.contact_import_query(account=actor.account)


@router.get("/contact-imports/{import_id}", response=ContactImportDetail)
def contact_import_read(request: HttpRequest, import_id: str):
    """An import: its mapping and preview before it starts, its progress (`rows_done` of
    `total_rows`, `percent`) and counts while and after it runs."""
    actor = _actor(request)
    return _import_detail(selectors.contact_import_get(account=actor.account, id=import_id))


@router.patch("/contact-imports/{import_id}", response=ContactImportDetail)
def contact_import_patch(request: HttpRequest, import_id: str, payload: ContactImportPatch):
    """Correct the mapping (one target per column), the header flag, the duplicates mode
    or the list to add the contacts to, before starting."""
    actor = _actor(request)
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    data = payload.dict(exclude_unset=True)
    target = imp.target_list
    if "list_id" in data:
        target = None
        if data["list_id"]:
            found = selectors.contact_lists_by_id(account=actor.account, ids=[data["list_id"]])
            if not found:
                raise ValidationFailed(details={"list_id": [_("Unknown list.")]})
            target = found[0]
    services.contact_import_configure(
        actor=actor, contact_import=imp, mapping=data.get("mapping") or imp.mapping,
        has_header=data.get("has_header", imp.has_header),
        duplicates=data.get("duplicates") or imp.duplicates, target_list=target)
    return _import_detail(selectors.contact_import_get(account=actor.account, id=import_id))


@router.post("/contact-imports/{import_id}/start", response=ContactImportOut)
def contact_import_start(request: HttpRequest, import_id: str):
    """Run the import in the background; follow it with GET …/{import_id}."""
    actor = _actor(request)
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    services.contact_import_start(actor=actor, contact_import=imp)
    return selectors.contact_import_get(account=actor.account, id=import_id)


@router.post("/contact-imports/{import_id}/cancel", response=ContactImportOut)
def contact_import_cancel(request: HttpRequest, import_id: str):
    """Stop an import; the rows already imported stay."""
    actor = _actor(request)
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    services.contact_import_cancel(actor=actor, contact_import=imp)
    return selectors.contact_import_get(account=actor.account, id=import_id)


@router.get("/contact-imports/{import_id}/errors", response={200: None})
def contact_import_errors(request: HttpRequest, import_id: str):
    """The rows not imported, as CSV: line, error, then the row's own columns (fix them
    and import the file again)."""
    actor = _actor(request)
    return import_errors_response(selectors.contact_import_get(account=actor.account,
                                                               id=import_id))


# --- red list ------------------------------------------------------------------------------------


@router.get("/opt-outs", response=list[OptOutOut])
@paginate(LimitOffsetPagination)
def opt_out_list(request: HttpRequest, search: str | None = None,
                 source: OptOutSource | None = None):
    """The red list (M-5), newest first: every send skips these numbers."""
    actor = _actor(request)
    return selectors.opt_out_query(account=actor.account, search=search, source=source)


@router.post("/opt-outs", response={200: OptOutOut, 201: OptOutOut})
def opt_out_create(request: HttpRequest, payload: OptOutIn):
    """Put a number on the red list (200 with the entry if it already is)."""
    actor = _actor(request)
    e164 = services.recipient_number(account=actor.account, number=payload.number)
    known = selectors.opt_out_query(account=actor.account).filter(number=e164).exists()
    entry = services.opt_out_add(actor=actor, account=actor.account, number=e164,
                                 source=OptOutSource.API, note=payload.note)
    return Status(200 if known else 201, entry)


@router.post("/opt-outs/import", response=RedListImportOut)
def opt_out_import(request: HttpRequest, file: File[UploadedFile], note: Form[str] = ""):
    """Add every number of a CSV or XLSX file (the first phone number of each row)."""
    actor = _actor(request)
    report = services.opt_outs_import(actor=actor, account=actor.account, data=file.read(),
                                      file_name=file.name or "", note=note)
    return {"added": report.added, "already": report.already, "duplicates": report.duplicates,
            "invalid": report.invalid,
            "errors": [{"line": line, "value": value, "message": message}
                       for line, value, message in report.errors]}


@router.get("/opt-outs/export", response={200: None})
def opt_out_export(request: HttpRequest, format: Literal["csv", "xlsx"] = "csv"):
    actor = _actor(request)
    rows = opt_out_rows(selectors.opt_out_query(account=actor.account))
    if format == "xlsx":
        return xlsx_response("red-list.xlsx", OPT_OUT_HEADER, rows)
    return csv_response("red-list.csv", OPT_OUT_HEADER, rows)


@router.post("/opt-outs/{opt_out_id}/remove", response={204: None})
def opt_out_remove(request: HttpRequest, opt_out_id: str, payload: OptOutRemove):
    """Take a number off the red list, saying why (audited). While the platform manages
    the red list, numbers that replied STOP cannot be taken off (409)."""
    actor = _actor(request)
    services.opt_out_remove(actor=actor, opt_out=selectors.opt_out_get(
        account=actor.account, id=opt_out_id), reason=payload.reason)
    return Status(204, None)


@router.get("/red-list/policy", response=PolicyOut)
def red_list_policy_read(request: HttpRequest):
    """Who manages the red list (M-5): the platform, or the client by its written choice."""
    actor = _actor(request)
    return selectors.red_list_policy_get(account=actor.account)


@router.put("/red-list/policy", response=PolicyOut)
def red_list_policy_write(request: HttpRequest, payload: PolicyIn):
    """Record the company's written choice to manage its red list itself (and bear the
    responsibility), or to leave it to the platform. Administrators only."""
    actor = actor_of(request)
    return services.red_list_policy_set(actor=actor, account=actor.account, **payload.dict())


# --- recipients (P-12) -------------------------------------------------------------------------


def _document(actor: Actor, number: str) -> dict[str, Any]:
    actor.require(Perm.MESSAGING_VIEW)
    e164 = services.recipient_number(account=actor.account, number=number)
    return recipient_document(account=actor.account,
                              data=recipient_data(account=actor.account, number=e164))


@router.post("/recipients/lookup", response=dict[str, Any])
def recipient_lookup(request: HttpRequest, payload: RecipientIn):
    """Everything this account holds about one number: contact and lists, red-list
    entries, messages with their history, replies, import error rows."""
    return _document(_actor(request), payload.number)


@router.post("/recipients/export", response={200: None})
def recipient_export(request: HttpRequest, payload: RecipientIn):
    """The same, as a JSON file to hand to the person (portability)."""
    document = _document(_actor(request), payload.number)
    response = HttpResponse(json.dumps(document, ensure_ascii=False, indent=2),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="recipient-data.json"'
    return response


@router.post("/recipients/rectify", response=ContactOut)
def recipient_rectify(request: HttpRequest, payload: RecipientRectify):
    """Correct the contact of a number (404 when no contact has it)."""
    actor = _actor(request)
    data = payload.dict(exclude_unset=True)
    contact = rights.recipient_rectify(
        actor=actor, account=actor.account, number=data.pop("number"),
        values={k: v if v is not None else "" for k, v in data.items()
                if k in (*BUILTIN, "mobile")},
        custom=data.get("custom"))
    if "list_ids" in data:
        services.contact_update(actor=actor, contact=contact,
                                lists=_lists(actor, data["list_ids"]))
    return selectors.contact_get(account=actor.account, id=contact.pk)


@router.post("/recipients/erase", response=ErasureOut)
def recipient_erase(request: HttpRequest, payload: ErasureIn):
    """Erase a number (P-12): contact deleted; messages and replies kept only as anonymous
    records for billing; the number scrubbed everywhere; a red-list entry kept as a keyed
    hash unless `keep_opt_out` is false. Administrators only; irreversible."""
    actor = actor_of(request)
    return rights.recipient_erase(actor=actor, account=actor.account, number=payload.number,
                                  keep_opt_out=payload.keep_opt_out)
