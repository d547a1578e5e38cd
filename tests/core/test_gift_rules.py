"""One gift's rules, as the give page, intents and the partner API apply them."""

from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.gift_rules import gift_amount_problem, memo_room, transfer_memo
from solidarity.core.money import transfer_max_minor
from solidarity.core.vietqr import PURPOSE_MAX


def test_amount_bounds() -> None:
    rules = {"currency": "VND", "min_gift_minor": 10_000, "max_gift_minor": 5_000_000}
    assert gift_amount_problem(0, **rules).kind == "not_positive"
    assert gift_amount_problem(9_999, **rules).limit == 10_000
    assert gift_amount_problem(5_000_001, **rules).kind == "above_maximum"
    assert gift_amount_problem(10_000, **rules) is None
    unbounded = {"currency": "VND", "min_gift_minor": None, "max_gift_minor": None}
    assert gift_amount_problem(transfer_max_minor("VND") + 1, **unbounded).kind == "above_maximum"


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=32),
    st.text(alphabet="ABCDEFGHJKMNPQRSTVWXYZ0123456789", max_size=30),
)
def test_a_memo_is_whole_or_refused_never_cut(code: str, reference: str) -> None:
    memo = transfer_memo(code, reference)
    if memo is None:
        assert len(reference) > memo_room(code)
    else:
        assert len(memo) <= PURPOSE_MAX
        assert memo.split(" ", 1) == ([code, reference] if reference else [code])
