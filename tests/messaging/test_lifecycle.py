import itertools

import pytest

from chappe.messaging.lifecycle import (
    FINAL,
    IllegalTransition,
    MessageStatus,
    can_cancel,
    check_transition,
)

S = MessageStatus
LEGAL = {
    (S.ACCEPTED, S.SCHEDULED), (S.ACCEPTED, S.QUEUED), (S.ACCEPTED, S.CANCELED),
    (S.ACCEPTED, S.OPTED_OUT), (S.ACCEPTED, S.REJECTED),
    (S.SCHEDULED, S.QUEUED), (S.SCHEDULED, S.CANCELED), (S.SCHEDULED, S.EXPIRED),
    (S.QUEUED, S.SENT), (S.QUEUED, S.REJECTED), (S.QUEUED, S.EXPIRED), (S.QUEUED, S.SCHEDULED),
    (S.SENT, S.DELIVERED), (S.SENT, S.UNDELIVERED), (S.SENT, S.EXPIRED), (S.SENT, S.REJECTED),
    # The content policy's hold (M-11): the operator releases or refuses it.
    (S.ACCEPTED, S.HELD), (S.HELD, S.SCHEDULED), (S.HELD, S.QUEUED), (S.HELD, S.REJECTED),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(S, S)))
def test_transition_table(current, new):
    if (current, new) in LEGAL:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, new)


def test_final_statuses_never_move():
    for status in FINAL:
        assert not any((status, new) in LEGAL for new in S)


def test_cancel_only_before_leaving():
    assert {status for status in S if can_cancel(status)} == {S.ACCEPTED, S.SCHEDULED}
