"""The public log's outbox: every booked movement becomes one entry, in the same transaction."""

from __future__ import annotations

from django.db import models


class LogHead(models.Model):
    """How many entries a campaign's log holds: the next entry's index.

    Advanced only by `log_entries_append`, inside the booking transaction that writes the
    entries, so its row lock (held until commit) hands out indexes in commit order: a
    committed `size` means every index below it is committed too. Never goes down.
    """

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, primary_key=True, related_name="log_head"
    )
    size = models.BigIntegerField(default=0)


class LogEntry(models.Model):
    """One canonical-JSON entry of a campaign's log, with its index; never changed.

    Written in the booking transaction, its index taken from `LogHead`; the sequencer
    publishes entries [published size, LogHead.size) and writes nothing here. The database
    refuses UPDATE and DELETE (triggers).
    """

    # Indexed through the (campaign, index) unique constraint below.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, db_index=False)
    kind = models.CharField(max_length=32)
    # What the entry is about: a gift's public reference, a tranche's, an account's key...
    # Indexed for every kind but "donation" (`log_ref_not_gift`): a gift's entry is found by
    # `gift` instead, so the millions of gift entries an import writes do not land at random
    # places of an index on random references (a national import spent a tenth of its time
    # there).
    ref = models.CharField(max_length=32)
    # A "donation" entry's gift (its donations_donation id, rising with every booking;
    # a plain number, since the log sits below the gifts it records); None for other kinds.
    gift = models.BigIntegerField(null=True, blank=True)
    body = models.BinaryField()
    index = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("campaign", "index"), name="log_index_once"),
        )
        # Queries that use the two indexes on kinds other than "donation" repeat their
        # condition (`.exclude(kind="donation")`): SQLite uses a partial index only for a
        # query whose WHERE contains its condition.
        indexes = (
            models.Index(fields=("gift",), name="log_gift", condition=models.Q(gift__isnull=False)),
            models.Index(
                fields=("ref",), name="log_ref_not_gift", condition=~models.Q(kind="donation")
            ),
            models.Index(
                fields=("campaign", "kind"),
                name="log_kind_not_gift",
                condition=~models.Q(kind="donation"),
            ),
        )


class LogState(models.Model):
    """A campaign log's publishing state; changed only by the sequencer holding the log's lock.

    `published_size` and `root` copy the last checkpoint the sequencer published
    (informational: the file is the truth). `origin` and `vkey` are fixed when the log is
    created; the private key is a file.
    """

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.PROTECT, primary_key=True, related_name="log_state"
    )
    origin = models.CharField(max_length=200)
    vkey = models.CharField(max_length=300)
    published_size = models.BigIntegerField(default=0)
    root = models.BinaryField(max_length=32, default=b"")
    published_at = models.DateTimeField(null=True, blank=True)


class LogWitness(models.Model):
    """A witness (c2sp.org/tlog-witness) the campaign's log asks to cosign its checkpoints.

    Added and removed only by the witness services, which announce each change in the log.
    A removed witness keeps its row (removed_at set); adding it again makes a new row.
    `known_size`, `cosigned_size`, `answered_at` (its last answer of any kind) and `last_error`
    are what the sequencer last heard from it (informational).
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.PROTECT, related_name="log_witnesses"
    )
    name = models.CharField(max_length=200)
    vkey = models.CharField(max_length=300)
    url = models.URLField(max_length=500)
    added_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    known_size = models.BigIntegerField(default=0)
    cosigned_size = models.BigIntegerField(default=0)
    cosigned_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "name"),
                condition=models.Q(removed_at__isnull=True),
                name="log_witness_active_once",
            ),
        )

    def __str__(self) -> str:
        return self.name


class LogWitnessPolicy(models.Model):
    """How many cosignatures a checkpoint of the campaign's log needs (0: no witnesses).

    `cosigned_size` is the largest checkpoint the sequencer published with the quorum."""

    campaign = models.OneToOneField(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="log_witness_policy",
    )
    quorum = models.PositiveSmallIntegerField(default=0)
    cosigned_size = models.BigIntegerField(default=0)
    cosigned_at = models.DateTimeField(null=True, blank=True)


class LogFile(models.Model):
    """One published file of a campaign's log (c2sp.org/tlog-tiles path → bytes), where every
    node of a PostgreSQL installation reads it.

    Tiles, bundles and keys.json rows are inserted once and never changed; the checkpoint row
    changes only by compare-and-set on the bytes it replaces (`DatabaseTileStore.replace_if`).
    """

    log = models.CharField(max_length=100)
    path = models.CharField(max_length=64)
    data = models.BinaryField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("log", "path"), name="logfile_once"),)
