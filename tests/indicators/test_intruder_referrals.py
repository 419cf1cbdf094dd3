"""The motivated intruder, turned on referral outcome counts: pinned with every cell key 0, not with the real keys.

Referrals are made through the referral service in six months no other test uses, with small counts (1 to 7)
planted among larger ones; the intruder asks every whole-month period of the half-year, by each grouping the
report offers, and solves for the planted cells (tests/indicators/intruder.py). With every cell key set to 0 (what
the report did before #23b: `publish(count)`), the noise is a known function of the count, which the intruder
inverts; with the referrals' own keys, it is not.
"""

import random
from datetime import date

from sqlalchemy import text
from sqlmodel import Session

from signpost.indicators import service as indicators
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy
from signpost.referrals import report
from signpost.referrals import service as referrals
from tests.factories import bearer, make_key
from tests.indicators.intruder import Fine, Intruder, Universe
from tests.referrals.factories import make_provider

HALF_YEAR = [(date(2016, m, 1), indicators.month_end(date(2016, m, 1))) for m in range(1, 7)]
WARDS, DECILES = ["E05012647", "E05012841"], [1, 10]
NEEDS, CATEGORIES = ["homeless", "debt-priority"], ["homelessness", "debt"]
GROUPINGS = ["", *report.GROUPINGS]


def _plant(session: Session, universe: Universe, truth: dict[Fine, int], seed: int) -> None:
    """Make the true counts as referrals, then give them record keys from `seed` (so the run is the same on both
    databases) and their outcome cells the key sums those referrals give."""
    for (u, w, n), count in truth.items():
        for _ in range(count):
            data = referrals.NewReferral(
                service_id=universe.service,
                organization_id="intruder-org",
                need_code=universe.needs[n],
                category_code=universe.categories[n],
                ward_code=universe.wards[w],
                ward_vintage=2021,
                imd_decile=universe.deciles[w],
                imd_year=2019,
                practice_ods=None,
                referrer="key:1",
                source="api",
            )
            referrals.create(session=session, secret_key="intruder", data=data, on=universe.units[u][0])
    rng = random.Random(seed)
    connection = session.connection()
    rows = connection.execute(
        text("SELECT id FROM referral WHERE service_id = :s ORDER BY id"), {"s": universe.service}
    ).all()
    connection.execute(
        text("UPDATE referral SET record_key = :k WHERE id = :id"),
        [{"id": i, "k": rng.randrange(256)} for (i,) in rows],
    )
    sums = connection.execute(
        text("SELECT need_code, ward_code, created_on, record_key FROM referral WHERE service_id = :s"),
        {"s": universe.service},
    ).all()
    keys: dict[tuple[str, str, date], int] = {}
    for need, ward, made, key in sums:
        cell = (need, ward, date.fromisoformat(str(made)).replace(day=1))
        keys[cell] = (keys.get(cell, 0) + key) % CELL_KEYS
    connection.execute(
        text(
            "UPDATE referral_outcome SET cell_key = :k WHERE service_id = :s AND need_code = :n AND ward_code = :w"
            " AND month = :m AND measure = 'made'"
        ),
        [{"k": k, "s": universe.service, "n": n, "w": w, "m": m} for (n, w, m), k in keys.items()],
    )
    session.commit()


def _truth(universe: Universe, seed: int, planted: int) -> tuple[dict[Fine, int], list[Fine]]:
    rng = random.Random(seed)
    cells = universe.fine()
    small = rng.sample(cells, planted)
    truth = {c: (rng.randint(1, 7) if c in small else rng.choice([0, 8, 9, 12, 15])) for c in cells}
    return truth, small


def _ask_everything(client, headers, intruder: Intruder) -> None:  # type: ignore[no-untyped-def]
    """Every whole-month period of the half-year, by every grouping, through the real API."""
    for first in range(len(HALF_YEAR)):
        for last in range(first, len(HALF_YEAR)):
            for group_by in GROUPINGS:
                answer = client.get(
                    "/api/v1/indicators/referral-outcomes",
                    params={"start": str(HALF_YEAR[first][0]), "end": str(HALF_YEAR[last][1]), "group_by": group_by},
                    headers=headers,
                )
                assert answer.status_code == 200, answer.text
                intruder.read_outcomes(answer.json(), "made", first, last)
    assert intruder.asked == 21 * len(GROUPINGS)


def test_referral_outcome_counts_pin_a_planted_cell_with_key_0_and_none_with_the_referrals_keys(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    provider = make_provider(session)
    universe = Universe(
        units=HALF_YEAR,
        wards=WARDS,
        deciles=DECILES,
        needs=NEEDS,
        categories=CATEGORIES,
        service=provider.service.id,
    )
    truth, planted = _truth(universe, seed=23, planted=8)
    _plant(session, universe, truth, seed=23)
    analyst = bearer(make_key(session, "analyst"))
    session.commit()

    keyed = Intruder(universe, perturbed=True)
    _ask_everything(client, analyst, keyed)
    found = {cell: keyed.bounds(cell) for cell in planted}
    for cell, (low, high) in found.items():
        assert low <= truth[cell] <= high  # the programme models the method rightly
    assert [c for c, (low, high) in found.items() if low == high] == []
    assert min(high - low for low, high in found.values()) >= 2

    # The same questions when every outcome cell's key is 0: the noise follows from the count alone.
    session.execute(text("UPDATE referral_outcome SET cell_key = 0 WHERE service_id = :s"), {"s": universe.service})
    session.commit()
    nhs = SuppressionPolicy("nhs")
    unkeyed = Intruder(universe, perturbed=True, published_as=lambda n: nhs.publish(n, 0))
    _ask_everything(client, analyst, unkeyed)
    pinned = {cell: unkeyed.bounds(cell) for cell in planted}
    for cell, (low, high) in pinned.items():
        assert low <= truth[cell] <= high
    assert [c for c, (low, high) in pinned.items() if low == high], f"none pinned with key 0: {pinned}"
