"""`solidarity log rotate-key`: a log starts signing with a new key, announced in the log.

Order (each step survives a crash; running the command again finishes it):
1. the new key is written to keys/<slug>.key.next (mode 0600), kept when already there;
2. a `key` entry naming its verifier key is booked and published in a checkpoint signed
   by the old key;
3. the link (that entry's receipt against the old key's checkpoint) is appended to the
   published keys.json, before any checkpoint of the new key exists;
4. the old key file is kept as keys/<slug>.<id>.retired and the new one takes its place,
   LogState.vkey becomes the new key (a crash before that is finished by the next pass:
   `sequencer._state_and_signer` accepts a key file the published keys.json announces),
   and the current checkpoint is signed again by both keys.
"""

from __future__ import annotations

import json
import os
import time

from django.db import transaction
from django.utils import timezone

from solidarity import config
from solidarity.apps.campaigns.models import Campaign
from solidarity.apps.transparency.logfiles import key_root, signer_load
from solidarity.apps.transparency.models import LogEntry, LogState
from solidarity.apps.transparency.sequencer import (
    SequencerError,
    log_lock,
    log_published_open,
    log_sequence_campaign,
)
from solidarity.apps.transparency.services import log_entries_append
from solidarity.core.tlog.bodies import key_body
from solidarity.core.tlog.checkpoint import checkpoint_sign
from solidarity.core.tlog.keys import KEYS_PATH, keys_parse
from solidarity.core.tlog.note import key_generate, signer_parse
from solidarity.core.tlog.receipt import receipt_build
from solidarity.core.tlog.sequencer import CHECKPOINT_PATH


def log_key_rotate(*, campaign: Campaign) -> tuple[str, str, int]:
    """Rotate the log's signing key; (old vkey, new vkey, index of the `key` entry)."""
    slug = campaign.slug
    state, _, _ = log_published_open(campaign)
    old = signer_load(slug)
    assert old is not None  # log_published_open refuses a log without its key
    pending = key_root() / f"{slug}.key.next"
    if not pending.exists():
        skey, _ = key_generate(state.origin)
        config.private_file_create(pending, skey + "\n")
    new = signer_parse(pending.read_text())
    vkey = new.verifier.vkey
    entry = LogEntry.objects.filter(
        campaign=campaign, kind="key", ref=new.verifier.vkey[-32:]
    ).exclude(kind="donation")  # the condition of the partial index log_ref_not_gift
    found = entry.values_list("index", flat=True).first()
    if found is None:
        with transaction.atomic():
            (row,) = log_entries_append(
                campaign=campaign,
                entries=[
                    (
                        "key",
                        vkey[-32:],
                        key_body(campaign=slug, at=timezone.now(), vkey=vkey),
                    )
                ],
            )
        found = LogEntry.objects.get(pk=row).index
    index = int(found)
    for _ in range(100):
        result = log_sequence_campaign(campaign)
        if not result.busy and result.size > index:
            break
        time.sleep(0.1)
    with log_lock(slug) as got:
        if not got:
            raise SequencerError(f"log {slug}: another process holds its lock; try again")
        state, store, current = log_published_open(campaign)
        if current is None or current.size <= index:
            raise SequencerError(f"log {slug}: the key entry {index} is not published yet")
        links = keys_parse(store.read(KEYS_PATH))
        if not any(link.get("index") == index for link in links):
            link = receipt_build(store, index, old.verifier).as_dict()
            links.append(link)
            store.replace(KEYS_PATH, (json.dumps(links, indent=1) + "\n").encode())
        current_key = key_root() / f"{slug}.key"
        retired = key_root() / f"{slug}.{old.verifier.key_id:08x}.retired"
        if not retired.exists():
            os.link(current_key, retired)
        os.replace(pending, current_key)
        LogState.objects.filter(pk=campaign.pk).update(vkey=vkey)
        store.replace(CHECKPOINT_PATH, checkpoint_sign(current, [old, new]))
    return old.verifier.vkey, vkey, index
