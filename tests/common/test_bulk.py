"""Named rows for `bulk_insert`: a `RowShape` refuses names that are not columns of its
model, and its builders give tuples in column order from keyword arguments."""

import pytest

from chappe.billing.services.usage import RECORD_ROW
from chappe.common.bulk import RowShape
from chappe.messaging.models import MessageEvent
from chappe.messaging.services.accept import MESSAGE_ROW


def test_a_name_that_is_not_a_column_of_the_model_is_refused():
    with pytest.raises(ValueError, match="has no column recipent"):
        RowShape(MessageEvent, ("message_id", "recipent"))
    with pytest.raises(ValueError, match="has no column message"):
        RowShape(MessageEvent, ("message", "status"))  # the attname is message_id
    with pytest.raises(ValueError, match="given twice"):
        RowShape(MessageEvent, ("message_id", "status", "status"))


def test_the_builder_orders_keyword_values_and_checks_them():
    shape = RowShape(MessageEvent, ("message_id", "status", "at", "error_code", "detail"))
    row = shape.builder(at="now", error_code="")
    assert row(detail="d", message_id=7, status="sent") == (7, "sent", "now", "", "d")
    assert shape.values(row(detail="", message_id=1, status="x")) == {
        "message_id": 1, "status": "x", "at": "now", "error_code": "", "detail": ""}
    with pytest.raises(TypeError):
        row(message_id=1, status="sent")  # detail missing
    with pytest.raises(TypeError):
        row(message_id=1, status="sent", detail="", details="")  # not a column
    with pytest.raises(TypeError):
        row(1, "sent", "")  # by position: no
    with pytest.raises(TypeError, match="has no column sent_at"):
        shape.builder(sent_at=None)
    # Two builders of one shape with the same fixed names keep their own values.
    other = shape.builder(at="later", error_code="e")
    assert other(detail="", message_id=2, status="y")[2:4] == ("later", "e")
    assert row(detail="", message_id=2, status="y")[2:4] == ("now", "")


@pytest.mark.parametrize("shape", [MESSAGE_ROW, RECORD_ROW], ids=lambda s: s.model.__name__)
def test_the_hot_paths_write_every_column(shape):
    """`bulk_insert` applies no defaults: a field added to Message or UsageRecord must be
    given a value by the acceptance core and the usage writer."""
    assert set(shape.columns) == {f.attname for f in shape.model._meta.concrete_fields}


@pytest.mark.django_db
def test_among_narrows_by_ids_and_by_text_and_updates_only_those(make_account):
    """`among` on both vendors: uuid primary keys given as UUIDs or as text, a text
    column, and an UPDATE through it that touches only the rows named."""
    from chappe.accounts.models import Account
    from chappe.common.bulk import among

    first, second, third = (make_account(name) for name in ("Among A", "Among B", "Among C"))
    accounts = Account.objects.filter(pk__in=[first.pk, second.pk, third.pk])
    assert set(among(accounts, "pk", [first.pk, str(third.pk)])) == {first, third}
    assert list(among(accounts, "name", ["Among B"])) == [second]
    assert not among(accounts, "pk", []).exists()
    among(accounts, "pk", [second.pk]).update(name="Among B2")
    assert sorted(accounts.values_list("name", flat=True)) == ["Among A", "Among B2", "Among C"]
