"""Generated gifts in the shape of the Vietnam Red Cross 2025 campaign for Cuba.

Round amounts from VND 10,000 to 1,000,000 (mean near 200,000, a few large ones),
Vietnamese names, bank memo shapes, front-loaded in time so that with the default
350,000 gifts the VND 65 billion goal is passed about 30 hours after opening.
Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from solidarity.core.matching import text_fold

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
FAMILY_WEIGHTS = (38, 11, 9.5, 7, 5, 5, 4.5, 3.9, 3.9, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5)
MIDDLE = [
    "Văn",
    "Thị",
    "Hữu",
    "Đức",
    "Minh",
    "Thanh",
    "Ngọc",
    "Quốc",
    "Thu",
    "Hoài",
    "Xuân",
    "Gia",
    "Bảo",
    "Anh",
]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
    "Huy",
    "Khoa",
    "Nhung",
    "Thắng",
    "Trung",
    "Việt",
    "Cường",
]

AMOUNTS = (
    (10_000, 0.08),
    (20_000, 0.08),
    (50_000, 0.181),
    (100_000, 0.27),
    (200_000, 0.17),
    (300_000, 0.06),
    (500_000, 0.10),
    (1_000_000, 0.05),
    (2_000_000, 0.006),
    (5_000_000, 0.0015),
    (10_000_000, 0.0005),
)
GOAL_HOURS = 30.0


@dataclass(frozen=True, slots=True)
class DemoGift:
    seq: int
    amount: int
    received_at: datetime
    donor_name: str
    sender_account: str
    memo: str
    channel: str


@lru_cache(maxsize=65536)
def ascii_upper(text: str) -> str:
    """`Nguyễn Văn An` → `NGUYEN VAN AN`, as bank memos print names."""
    return text_fold(text).upper()


def _memo(rng: random.Random, name: str, seq: int, when: datetime) -> str:
    plain = ascii_upper(name)
    shape = rng.random()
    if shape < 0.35:
        return f"{plain} ung ho Cuba"
    if shape < 0.55:
        ref = rng.randrange(10**9, 10**10)
        return (
            f"MBVCB.{ref}.{plain} chuyen tien ung ho CUBA.CT tu 0{rng.randrange(10**9, 10**10)}"
            f" {plain} toi 4001 HOI CHU THAP DO VIET NAM"
        )
    if shape < 0.7:
        return f"{rng.randrange(100000, 999999)}.{when:%d%m%y}.{when:%H%M%S}.UNG HO CU BA"
    if shape < 0.8:
        return f"IBFT Ung ho nhan dan Cuba {plain}"
    if shape < 0.9:
        return f"CT nhanh 247 den: {plain} chuyen tien ung ho Cuba"
    return f"Ủng hộ Cuba - {name}"


def demo_gifts(n: int, *, opens_at: datetime, goal: int, seed: int = 2025) -> Iterator[DemoGift]:
    """`n` gifts in time order. Streams; the amounts are drawn first to place the goal."""
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not a secret)
    values = [a for a, _ in AMOUNTS]
    weights = [w for _, w in AMOUNTS]
    amounts = rng.choices(values, weights, k=n)
    total = sum(amounts)
    # Exponential arrivals; the rate puts the gift that passes the goal at GOAL_HOURS.
    fraction = min(goal / total, 0.999) if total else 0.5
    rate = -math.log(1 - fraction) / GOAL_HOURS
    regulars: list[tuple[str, str]] = []
    for seq, amount in enumerate(amounts):
        u = (seq + 0.5) / n
        hours = -math.log(1 - u) / rate
        when = opens_at + timedelta(hours=hours, seconds=rng.random())
        if regulars and rng.random() < 0.05:
            name, account = rng.choice(regulars)
        else:
            family = rng.choices(FAMILY, FAMILY_WEIGHTS)[0]
            name = f"{family} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            account = str(rng.randrange(10**9, 10**13))
            if len(regulars) < 1000:
                regulars.append((name, account))
        yield DemoGift(
            seq=seq,
            amount=amount,
            received_at=when,
            donor_name=ascii_upper(name),
            sender_account=account,
            memo=_memo(rng, name, seq, when),
            channel="qr" if rng.random() < 0.3 else "bank_transfer",
        )
