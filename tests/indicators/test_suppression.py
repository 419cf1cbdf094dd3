"""The suppression policies publish nothing that could identify a small group."""

from hypothesis import given
from hypothesis import strategies as st

from signpost.indicators.suppression import SuppressionPolicy, policy_for

NHS = SuppressionPolicy("nhs")
counts = st.lists(st.integers(min_value=0, max_value=5000), max_size=60)


def test_nhs_suppresses_one_to_seven() -> None:
    assert [NHS.publish(n) for n in range(1, 8)] == [None] * 7


def test_nhs_rounds_to_the_nearest_five() -> None:
    assert [NHS.publish(n) for n in (8, 12, 13, 17, 18, 102)] == [10, 10, 15, 15, 20, 100]


def test_zero_is_shown_as_zero_under_every_policy() -> None:
    for policy in (NHS, SuppressionPolicy("threshold", 10), SuppressionPolicy("none")):
        assert policy.publish(0) == 0


def test_threshold_suppresses_below_the_threshold_only() -> None:
    policy = SuppressionPolicy("threshold", 10)
    assert (policy.publish(9), policy.publish(10), policy.publish(11)) == (None, 10, 11)


def test_totals_are_rounded_from_unrounded_counts() -> None:
    # 3 + 3 + 4 = 10 although every cell is suppressed; rounding the rounded cells would give 0.
    assert NHS.total([3, 3, 4]) == 10
    assert NHS.total([12, 12, 12]) == 35  # 36 rounded, not 10 + 10 + 10


def test_no_suppression_is_never_used_for_an_export_or_a_non_admin() -> None:
    assert policy_for(name="none", threshold=10, admin=True, export=True).name == "nhs"
    assert policy_for(name="none", threshold=10, admin=False, export=False).name == "nhs"
    assert policy_for(name="none", threshold=10, admin=True, export=False).name == "none"


@given(counts)
def test_no_published_nhs_cell_is_between_one_and_seven(values: list[int]) -> None:
    for n in values:
        published = NHS.publish(n)
        assert published is None or not 1 <= published <= 7


@given(counts)
def test_every_published_nhs_count_is_a_multiple_of_five(values: list[int]) -> None:
    for n in values:
        published = NHS.publish(n)
        assert published is None or published % 5 == 0


@given(counts)
def test_nhs_total_is_the_rounded_sum_of_unrounded_counts(values: list[int]) -> None:
    total = sum(values)
    expected = 0 if total == 0 else (None if total <= 7 else 5 * round_half_up(total / 5))
    assert NHS.total(values) == expected


def round_half_up(x: float) -> int:
    return int(x + 0.5)
