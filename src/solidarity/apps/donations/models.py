"""Gifts. The public row is immutable; private details live apart so they can be erased."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    BANK_TRANSFER = "bank_transfer"
    QR = "qr"
    WALLET = "wallet"
    CARD = "card"
    CASH = "cash"
    IN_KIND = "in_kind"


class Privacy(models.TextChoices):
    NAMED = "named", "the name the donor chose"
    MASKED = "masked", "a masked name"
    ANONYMOUS = "anonymous", "anonymous"


class Donation(models.Model):
    """One booked gift. (source, source_ref) is the source's own identity: booked once."""

    # Indexed through the (campaign, received_at) index below.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, db_index=False)
    # The gift's journal transaction: its own ("donation"), or the deposit ("deposit") that
    # books a statement batch's gifts to this campaign through one account, whose lines the
    # gifts are (`ledger check` proves they sum to its postings).
    txn = models.ForeignKey(
        "ledger.JournalTransaction", on_delete=models.PROTECT, related_name="gifts"
    )
    public_ref = models.CharField(max_length=16, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    received_at = models.DateTimeField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    display_name = models.CharField(max_length=120, help_text="as published")
    # Unused since gifts keep their shown memo in DonationPrivate.memo_shown (erasable);
    # older rows may hold one, and no page reads it.
    memo_public = models.CharField(max_length=500, blank=True, help_text="not shown")
    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    bank_ref = models.CharField(max_length=64, blank=True)
    account = models.ForeignKey(
        "campaigns.ReceivingAccount", null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="donation_once"),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="gift_positive"),
        )
        # The statement's keyset pages walk these in (value, id) order. SQLite appends the
        # rowid (id) to every index anyway; PostgreSQL needs it named to skip the sort.
        indexes = (
            models.Index(fields=("campaign", "received_at", "id"), name="donation_time_walk"),
            models.Index(fields=("campaign", "amount_minor", "id"), name="donation_amount_walk"),
            # A returned transfer finds the gift it sends back by its bank reference: without
            # this, every return of a national statement read all of its account's gifts.
            models.Index(fields=("bank_ref",), name="donation_bank_ref"),
        )

    def __str__(self) -> str:
        return self.public_ref


class DonationPrivate(models.Model):
    """What can be erased: the private details (never shown) and the memo as the site shows
    it (`memo_shown`, masked by the privacy policy). Deleting the row erases the donor: the
    pages stop showing name and memo; the log, which holds neither, stays verifiable."""

    donation = models.OneToOneField(Donation, on_delete=models.CASCADE, related_name="private")
    donor_name = models.CharField(max_length=200, blank=True)
    sender_account = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)
    salt = models.BinaryField(max_length=32)
    commitment = models.CharField(max_length=64)
    memo_shown = models.CharField(max_length=500, blank=True, default="")


class PrivacyReference(models.Model):
    """A donor's privacy choice made before paying (give page, partner intent), under a
    reference the payment carries (in the transfer memo or as the gateway's order). It
    applies to every gift that carries the reference, on every channel."""

    reference = models.CharField(max_length=20, unique=True)
    privacy = models.CharField(max_length=10, choices=Privacy.choices)
    donor_name = models.CharField(max_length=120, blank=True, help_text="the name chosen")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference


class DonorKey(models.Model):
    """One row per distinct known donor per campaign; counts donors without storing who."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT)
    key = models.CharField(max_length=64)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("campaign", "key"), name="donor_once"),)


class Reversal(models.Model):
    """A gift reversed (returned transfer, chargeback). Booked as a reversing transaction."""

    donation = models.OneToOneField(Donation, on_delete=models.PROTECT, related_name="reversal")
    txn = models.OneToOneField("ledger.JournalTransaction", on_delete=models.PROTECT)
    source = models.CharField(max_length=64)
    source_ref = models.CharField(max_length=200)
    reversed_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("source", "source_ref"), name="reversal_once"),
        )


class SearchChange(models.Model):
    """One write to the public search index: the gift ids it touched lie in [lo, hi].

    Appended in the transaction of every write (`search.py`), so a reader that keeps word
    postings in memory (`postings.py`) replays exactly what changed since it last looked.
    `tag` is random: a row id found again with another tag (a restored database, a rolled-back
    test) tells the reader its memory is from another history. Rows older than a day are
    pruned by the indexer; a reader further behind starts over."""

    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    tag = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = (models.Index(fields=("at",), name="search_change_at"),)


class SearchPending(models.Model):
    """Gifts booked without their search rows (a statement's, left to the indexer): one row
    per booking transaction that did so, for its `n` gifts with ids in [lo, hi], written in
    that transaction. An indexer pass deletes the rows below where it reads from (their
    gifts have their rows). `search_backlog` measures from the lowest one, so an indexer far
    behind a national import is seen whole while other bookers index their own gifts above
    it."""

    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    n = models.IntegerField()
    booked_at = models.DateTimeField()

    class Meta:
        indexes = (models.Index(fields=("lo",), name="search_pending_lo"),)
