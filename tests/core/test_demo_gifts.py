from datetime import UTC, datetime
from statistics import mean

from solidarity.core.demo import demo_gifts

OPENS = datetime(2025, 8, 25, 1, tzinfo=UTC)


def test_demo_gifts_have_the_real_shape():
    gifts = list(demo_gifts(50_000, opens_at=OPENS, goal=65_000_000_000 // 7))
    amounts = [g.amount for g in gifts]
    assert 180_000 <= mean(amounts) <= 250_000
    assert sum(10_000 <= a <= 1_000_000 for a in amounts) / len(amounts) > 0.98
    assert all(a % 10_000 == 0 for a in amounts)
    assert [g.received_at for g in gifts] == sorted(g.received_at for g in gifts)
    # front-loaded: far more gifts in the first day than in the second
    first = sum(g.received_at < OPENS.replace(day=26) for g in gifts)
    second = sum(OPENS.replace(day=26) <= g.received_at < OPENS.replace(day=27) for g in gifts)
    assert first > 2 * second


def test_demo_passes_the_goal_after_about_30_hours():
    goal = 65_000_000_000
    running, reached = 0, None
    for g in demo_gifts(350_000, opens_at=OPENS, goal=goal):
        running += g.amount
        if running >= goal:
            reached = (g.received_at - OPENS).total_seconds() / 3600
            break
    assert reached is not None
    assert 27 <= reached <= 33


def test_demo_is_deterministic():
    a = list(demo_gifts(100, opens_at=OPENS, goal=10**9, seed=7))
    b = list(demo_gifts(100, opens_at=OPENS, goal=10**9, seed=7))
    assert a == b
