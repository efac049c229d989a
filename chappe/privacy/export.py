"""A recipient's data as one JSON document (P-12 access and portability): what
`selectors.recipient_data` found, for the API and the web page alike."""

from datetime import date, datetime
from typing import Any

from django.utils import timezone

from chappe.accounts.models import Account
from chappe.contacts.fields import BUILTIN_FIELDS
from chappe.privacy.selectors import RecipientData


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def recipient_document(*, account: Account, data: RecipientData) -> dict[str, Any]:
    """Everything held about one number, as a JSON document (P-12 access and portability)."""
    contacts = [{
        "id": str(c.pk), **{name: getattr(c, name) for name in BUILTIN_FIELDS},
        "custom": c.custom, "lists": sorted(cl.name for cl in c.lists.all()),
        "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
    } for c in data.contacts]
    return {
        "number": data.number,
        "account": {"id": str(account.pk), "name": account.name},
        "generated_at": timezone.now().isoformat(),
        "contacts": contacts,
        "other_phone_of_contacts": [str(c.pk) for c in data.phone_of],
        "red_list": [{
            "number": e.number or None, "erased": e.erased, "source": e.source,
            "responsible": e.responsible, "note": e.note, "created_at": _iso(e.created_at),
        } for e in data.opt_outs],
        "messages": [{
            "id": str(m.pk), "created_at": _iso(m.created_at), "kind": m.kind,
            "sender": m.sender, "text": m.text, "status": m.status, "country": m.country,
            "operator": m.operator, "segments": m.segments, "sent_at": _iso(m.sent_at),
            "reference": m.send.reference,
            "history": [{"status": e.status, "at": _iso(e.at), "error_code": e.error_code}
                        for e in m.history()],
        } for m in data.messages],
        "replies": [{
            "id": str(r.pk), "received_at": _iso(r.received_at), "to": r.to, "text": r.text,
            "is_stop": r.is_stop,
        } for r in data.replies],
        "import_errors": [{
            "import_id": str(e.contact_import_id), "file": e.contact_import.file_name,
            "row": e.row, "message": e.message,
        } for e in data.import_errors],
    }
