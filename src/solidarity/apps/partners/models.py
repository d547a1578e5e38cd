"""Partners of the API: organisations, their keys (stored as SHA-256), donation intents,
the results of requests under an Idempotency-Key, and the counters of rate limits.

The tables of partners, keys, intents and idempotency records were created by the feeds app
and keep its names.
"""

from __future__ import annotations

from django.db import models


class Partner(models.Model):
    """An organisation allowed to use the partner API."""

    name = models.SlugField(max_length=40, unique=True)
    scopes = models.JSONField(default=list)
    rate_per_minute = models.IntegerField(default=600)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_partner"  # created by the feeds app; moved, not renamed

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A partner's key: only its SHA-256 is kept; the key is shown once."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "feeds_apikey"  # created by the feeds app; moved, not renamed

    def __str__(self) -> str:
        return f"{self.prefix}…"


class RateCounter(models.Model):
    """One rate limit's counter (`limits`' fixed window): requests counted under `key` until
    `expires_at` (Unix time), when the next request starts a new window."""

    key = models.CharField(max_length=200, unique=True)
    hits = models.IntegerField(default=0)
    expires_at = models.FloatField()

    def __str__(self) -> str:
        return self.key


class Intent(models.Model):
    """A gift announced before it is paid: a reference the transfer memo or gateway carries."""

    reference = models.CharField(max_length=20, unique=True)
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    donor_name = models.CharField(max_length=120, blank=True)
    privacy = models.CharField(max_length=10, default="masked")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_intent"  # created by the feeds app; moved, not renamed

    def __str__(self) -> str:
        return self.reference


class IdempotencyRecord(models.Model):
    """The result of a partner request under its Idempotency-Key."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE)
    key = models.CharField(max_length=120)
    request_hash = models.CharField(max_length=64)
    done = models.BooleanField(default=False)
    status_code = models.IntegerField(default=0)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_idempotencyrecord"  # created by the feeds app; moved, not renamed
        constraints = (models.UniqueConstraint(fields=("partner", "key"), name="idempotency_once"),)
