import pytest
from hypothesis import given
from hypothesis import strategies as st

from solidarity.core.ledger import (
    LedgerError,
    Posting,
    balances,
    gift_postings,
    transaction_build,
    transaction_reverse,
)
from solidarity.core.money import Money


def test_a_gift_balances():
    txn = transaction_build(
        "donation",
        gift_postings(
            source_account="asset:bank:970422:4001", campaign="cuba", amount=Money(5, "VND")
        ),
    )
    assert sum(p.amount.minor for p in txn.postings) == 0


def test_unbalanced_transaction_is_refused_with_every_reason():
    with pytest.raises(LedgerError) as err:
        transaction_build(
            "donation",
            [
                Posting("asset:bank:1:2", Money(10, "VND")),
                Posting("income:gifts:x", Money(-9, "VND")),
                Posting("bogus", Money(0, "VND")),
            ],
        )
    text = str(err.value)
    assert "sum to 1" in text
    assert "zero amount" in text
    assert "'bogus'" in text


def test_currencies_balance_separately():
    with pytest.raises(LedgerError, match="USD"):
        transaction_build(
            "x",
            [
                Posting("asset:a:b", Money(10, "VND")),
                Posting("income:a:b", Money(-10, "VND")),
                Posting("asset:c:d", Money(1, "USD")),
                Posting("income:c:d", Money(-2, "USD")),
            ],
        )


postings = st.lists(
    st.tuples(
        st.sampled_from(["asset:bank:a", "income:gifts:c", "expense:disbursed:c"]),
        st.integers(min_value=1, max_value=10**12),
    ),
    min_size=1,
    max_size=8,
)


@given(postings)
def test_any_balanced_set_posts_and_its_reversal_cancels_it(items):
    # Given postings balanced by a closing posting
    legs = [Posting(acct, Money(amount, "VND")) for acct, amount in items]
    total = sum(p.amount.minor for p in legs)
    legs.append(Posting("equity:opening:x", Money(-total, "VND")))
    # When it is posted and reversed
    txn = transaction_build("any", legs)
    reversal = transaction_reverse(txn)
    # Then every account nets to zero
    assert all(v == 0 for v in balances(txn.postings + reversal.postings).values())


def test_account_codes_are_valid_and_named_once() -> None:
    from solidarity.core.ledger import ACCOUNTS, account_code, account_code_check

    assert account_code("bank", "970436", "0011001932418") == "asset:bank:970436:0011001932418"
    assert account_code("gifts", "cuba-2025") == "income:gifts:cuba-2025"
    for name in ACCOUNTS:
        assert account_code_check(account_code(name, "x")) == []
