"""Proofs from a campaign's published log (RFC 9162 §2.1.3-2.1.4), under /api/v1/campaigns/.

Hashes are base64. Out-of-range sizes or indexes are 400 with a `detail` saying the allowed
range; an unknown campaign or a log without a checkpoint yet is 404.
"""

from __future__ import annotations

from typing import Any

from ninja import Query, Router
from ninja.errors import HttpError

from solidarity.apps.transparency.selectors import (
    LogNotFound,
    ProofRequestError,
    consistency_proof_get,
    inclusion_proof_get,
    log_info,
)

router = Router(tags=["log"])


def _answer(fn: Any, **kw: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = fn(**kw)
    except LogNotFound as e:
        raise HttpError(404, str(e)) from None
    except ProofRequestError as e:
        raise HttpError(400, str(e)) from None
    return result


@router.get("/{slug}/log", summary="The published log: origin, key, size, root, checkpoint")
def log_get(request: Any, slug: str) -> dict[str, Any]:
    return _answer(log_info, slug=slug)


@router.get("/{slug}/proof/inclusion", summary="Inclusion proof of entry `index` at `size`")
def proof_inclusion(request: Any, slug: str, index: int, size: int | None = None) -> dict[str, Any]:
    return _answer(inclusion_proof_get, slug=slug, index=index, size=size)


@router.get("/{slug}/proof/consistency", summary="Consistency proof from size `from` to `to`")
def proof_consistency(
    request: Any,
    slug: str,
    to: int,
    from_: int = Query(..., alias="from"),
) -> dict[str, Any]:
    return _answer(consistency_proof_get, slug=slug, old=from_, new=to)
