"""The publication path (perturb, suppress, round) publishes nothing that could identify a small group."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from signpost.indicators.suppression import (
    CELL_KEYS,
    MAX_PCV,
    PTABLE,
    SuppressionPolicy,
    pcv,
    perturb,
    policy_for,
    ptable_rows,
)

NHS = SuppressionPolicy("nhs")
RULE_ONLY = SuppressionPolicy("nhs", perturbed=False)
counts = st.lists(st.integers(min_value=0, max_value=5000), max_size=60)
keys = st.integers(min_value=0, max_value=CELL_KEYS - 1)
cells = st.lists(st.tuples(st.integers(min_value=0, max_value=5000), keys), max_size=60)


def test_nhs_suppresses_every_count_up_to_five_whatever_its_key() -> None:
    # 1..5 perturbed stay within 1..7; 6 and 7 may reach 8 or 9 and be published as 10.
    assert {NHS.publish(n, k) for n in range(1, 6) for k in range(CELL_KEYS)} == {None}
    assert {NHS.publish(n, k) for n in (6, 7) for k in range(CELL_KEYS)} == {None, 10}


def test_the_rule_alone_rounds_to_the_nearest_five() -> None:
    assert [RULE_ONLY.publish(n) for n in (8, 12, 13, 17, 18, 102)] == [10, 10, 15, 15, 20, 100]


def test_a_count_is_perturbed_by_at_most_two_and_multiples_of_five_survive_rounding() -> None:
    assert {NHS.publish(20, k) for k in range(CELL_KEYS)} == {20}
    assert {NHS.publish(12, k) for k in range(CELL_KEYS)} == {10, 15}


def test_the_same_cell_always_gets_the_same_figure() -> None:
    assert [perturb(12, 77) for _ in range(3)] == [perturb(12, 77)] * 3


def test_noise_follows_the_published_shares_and_never_makes_a_count_zero() -> None:
    assert Counter(PTABLE[100]) == {-2: 26, -1: 51, 0: 102, 1: 51, 2: 26}
    assert all(n + d >= 1 for n in range(1, MAX_PCV + 1) for d in PTABLE[n])
    assert set(PTABLE[0]) == {0}


def test_counts_past_the_table_reuse_its_last_rows() -> None:
    assert pcv(751) == 501 and pcv(1000) == 750 and pcv(1001) == 501


def test_the_published_ptable_has_a_row_per_count_and_key() -> None:
    rows = ptable_rows()
    assert len(rows) == (MAX_PCV + 1) * CELL_KEYS and rows[0] == (0, 0, 0)


def test_zero_is_shown_as_zero_under_every_policy() -> None:
    for policy in (NHS, SuppressionPolicy("threshold", 10), SuppressionPolicy("none")):
        assert {policy.publish(0, k) for k in range(CELL_KEYS)} == {0}


def test_threshold_perturbs_then_suppresses_below_the_threshold() -> None:
    policy = SuppressionPolicy("threshold", 10)
    assert {policy.publish(7, k) for k in range(CELL_KEYS)} == {None}
    assert {policy.publish(13, k) for k in range(CELL_KEYS)} == set(range(11, 16))


def test_totals_are_published_from_unrounded_counts_and_their_keys() -> None:
    # 3 + 3 + 4 = 10: every cell is suppressed, the total (8..12) is published as 10.
    assert NHS.total([3, 3, 4], [5, 6, 7]) == 10
    assert NHS.total([12, 12, 12], [1, 2, 3]) == NHS.publish(36, 6)


def test_no_suppression_is_never_used_for_an_export_or_a_non_admin() -> None:
    assert policy_for(name="none", threshold=10, admin=True, export=True).name == "nhs"
    assert policy_for(name="none", threshold=10, admin=False, export=False).name == "nhs"
    assert policy_for(name="none", threshold=10, admin=True, export=False).name == "none"


def test_every_policy_a_report_can_use_is_perturbed() -> None:
    for name in ("nhs", "threshold", "bogus"):
        assert policy_for(name=name, threshold=10, admin=False, export=True).perturbed


@given(cells)
def test_no_published_nhs_cell_is_between_one_and_seven(values: list[tuple[int, int]]) -> None:
    for n, k in values:
        published = NHS.publish(n, k)
        assert published is None or not 1 <= published <= 7


@given(cells)
def test_every_published_nhs_count_is_a_multiple_of_five(values: list[tuple[int, int]]) -> None:
    for n, k in values:
        published = NHS.publish(n, k)
        assert published is None or published % 5 == 0


@given(cells)
def test_a_published_count_is_within_four_of_the_true_one(values: list[tuple[int, int]]) -> None:
    for n, k in values:
        published = NHS.publish(n, k)
        assert published is None or abs(published - n) <= 4


@given(cells)
def test_nhs_total_is_the_perturbed_rounded_sum_of_unrounded_counts(values: list[tuple[int, int]]) -> None:
    total, key = sum(n for n, _ in values), sum(k for _, k in values) % CELL_KEYS
    noisy = total + PTABLE[pcv(total)][key]
    expected = 0 if total == 0 else (None if noisy <= 7 else 5 * round_half_up(noisy / 5))
    assert NHS.total([n for n, _ in values], [k for _, k in values]) == expected


def round_half_up(x: float) -> int:
    return int(x + 0.5)
