"""A motivated intruder: reads published answers and solves for the true counts with an integer linear programme.

The intruder knows the method as published (NHS rule; perturbation of at most ±2 from a cell key that is the same
whenever the same events are counted) and every answer it was given. Each answer cell is the sum of some of the
finest cells (unit × ward × need); it bounds that sum. A planted cell is *pinned* when the programme's minimum and
maximum for it are equal: the intruder then knows its count exactly.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Fine = tuple[int, int, int]  # (unit, ward, need) indexes


@dataclass
class Universe:
    """The finest cells the intruder solves for: periods (`units`, in order) × wards × needs; every other attribute
    of the planted events is fixed, so groupings by decile, category, kind or source cut the same cells."""

    units: list[tuple[date, date]]
    wards: list[str]
    deciles: list[int]  # each ward's decile
    needs: list[str]
    categories: list[str]  # each need's category
    kind: str = "signposted"
    source: str = "template"
    service: str = ""

    def fine(self) -> list[Fine]:
        return [
            (u, w, n) for u in range(len(self.units)) for w in range(len(self.wards)) for n in range(len(self.needs))
        ]

    def matches(self, cell: Fine, group: str, value: Any) -> bool:
        u, w, n = cell
        value = str(value)
        if group == "month":
            return self.units[u][0].strftime("%Y-%m") == value
        if group == "ward":
            return self.wards[w] == value
        if group == "imd_decile":
            return str(self.deciles[w]) == value
        if group == "need":
            return self.needs[n] == value
        if group == "category":
            return self.categories[n] == value
        if group == "kind":
            return self.kind == value
        if group == "source":
            return self.source == value
        if group == "service":
            return self.service == value
        raise AssertionError(f"the intruder does not model grouping {group}")


@dataclass
class Intruder:
    universe: Universe
    perturbed: bool
    answers: dict[frozenset[Fine], set[int | None]] = field(default_factory=dict)
    # When the noise is a known function of the count (every cell key 0), the intruder inverts it: `published_as`
    # gives what a true count is published as, and each answer allows only the counts published as it.
    published_as: Callable[[int], int | None] | None = None
    asked: int = 0
    refused: int = 0

    def _note(self, cells: Iterable[Fine], published: int | None) -> None:
        found = frozenset(cells)
        if found:
            self.answers.setdefault(found, set()).add(published)

    def _in(self, first: int, last: int) -> list[Fine]:
        return [c for c in self.universe.fine() if first <= c[0] <= last]

    def read_report(self, report: dict[str, Any], first: int, last: int) -> None:
        """A JSON report (`/api/v1/indicators/counts`, or `service.report`) over units first..last."""
        self.asked += 1
        period = self._in(first, last)
        self._note(period, report["total"])
        for row in report["rows"]:
            cells = [c for c in period if all(self.universe.matches(c, g, row[g]) for g in report["group_by"])]
            self._note(cells, row["count"])

    def read_csv(self, text: str, group_by: list[str], first: int, last: int) -> None:
        self.asked += 1
        period = self._in(first, last)
        for row in csv.DictReader(io.StringIO(text)):
            cells = [c for c in period if all(self.universe.matches(c, g, row[g]) for g in group_by)]
            self._note(cells, None if row["count"] == "suppressed" else int(row["count"]))

    def read_measure_report(self, report: dict[str, Any], needs: list[str] | None, first: int, last: int) -> None:
        """A summary MeasureReport; `needs` is the Measure's population (None: every need)."""
        self.asked += 1
        population = [c for c in self._in(first, last) if needs is None or self.universe.needs[c[2]] in needs]
        group = report["group"][0]

        def count(stratum: dict[str, Any]) -> int | None:
            return stratum["population"][0].get("count")

        self._note(population, count(group))
        names = {"ward": "ward", "imd-decile": "imd_decile", "need": "need", "category": "category"}
        for stratifier in group["stratifier"]:
            code = stratifier["code"][0]["text"]
            for stratum in stratifier["stratum"]:
                if "component" in stratum:
                    parts = [(names[p["code"]["text"]], p["value"]["coding"][0]["code"]) for p in stratum["component"]]
                else:
                    parts = [(names[code], stratum["value"]["coding"][0]["code"])]
                cells = [c for c in population if all(self.universe.matches(c, g, v) for g, v in parts)]
                self._note(cells, count(stratum))

    def read_outcomes(self, report: dict[str, Any], measure: str, first: int, last: int) -> None:
        """A referral outcome report (`/api/v1/indicators/referral-outcomes`, one grouping) for one measure."""
        self.asked += 1
        period = self._in(first, last)
        self._note(period, report["total"][measure])
        names = {"decile": "imd_decile", "all": None}
        for row in report["rows"]:
            ((group, value),) = row["group"].items()
            group = names.get(group, group)
            cells = [c for c in period if group is None or self.universe.matches(c, group, value)]
            self._note(cells, row[measure])

    def bounds(self, cell: Fine) -> tuple[int, int]:
        """The least and the most the answers allow `cell` to hold."""
        fine = self.universe.fine()
        at = {c: i for i, c in enumerate(fine)}
        sets = list(self.answers)
        if self.published_as is not None:
            return self._inverted_bounds(at[cell], sets, len(fine))
        noise = 2 if self.perturbed else 0
        size = len(fine) + len(sets)  # a count per fine cell, a noise per distinct answered set
        rows, lower, upper = [], [], []

        def constrain(coefficients: dict[int, int], low: float, high: float) -> None:
            row = np.zeros(size)
            for i, v in coefficients.items():
                row[i] = v
            rows.append(row)
            lower.append(low)
            upper.append(high)

        for j, cells in enumerate(sets):
            total = {at[c]: 1 for c in cells}
            noisy = {**total, len(fine) + j: 1}
            for published in self.answers[cells]:
                if published == 0:
                    constrain(total, 0, 0)  # zero is published only for no events
                elif published is None:
                    constrain(total, 1, np.inf)
                    constrain(noisy, 1, 7)
                else:
                    constrain(total, 1, np.inf)
                    constrain(noisy, published - 2, published + 2)
        low = np.array([0] * len(fine) + [-noise] * len(sets))
        high = np.array([10_000] * len(fine) + [noise] * len(sets))
        constraints = LinearConstraint(np.array(rows), lower, upper)
        found = []
        for sign in (1, -1):
            objective = np.zeros(size)
            objective[at[cell]] = sign
            result = milp(objective, constraints=constraints, integrality=np.ones(size), bounds=Bounds(low, high))
            assert result.success, result.message
            found.append(round(result.x[at[cell]]))
        return found[0], found[1]

    def _inverted_bounds(self, index: int, sets: list[frozenset[Fine]], cells: int) -> tuple[int, int]:
        """Bounds when each answer's possible true sums are known exactly: one binary per (answer, candidate sum)."""
        assert self.published_as is not None
        at = {c: i for i, c in enumerate(self.universe.fine())}
        most = 400
        choices = [
            (j, n)
            for j, answered in enumerate(sets)
            for n in range(most + 1)
            if all(self.published_as(n) == published for published in self.answers[answered])
        ]
        size = cells + len(choices)
        rows, lower, upper = [], [], []
        for j, answered in enumerate(sets):
            pick = np.zeros(size)  # exactly one candidate sum per answer
            total = np.zeros(size)  # the answer's cells add up to the chosen sum
            for i in (at[c] for c in answered):
                total[i] = 1
            for k, (owner, n) in enumerate(choices):
                if owner == j:
                    pick[cells + k] = 1
                    total[cells + k] = -n
            rows += [pick, total]
            lower += [1, 0]
            upper += [1, 0]
        low = np.zeros(size)
        high = np.array([most] * cells + [1] * len(choices))
        constraints = LinearConstraint(np.array(rows), lower, upper)
        found = []
        for sign in (1, -1):
            objective = np.zeros(size)
            objective[index] = sign
            result = milp(objective, constraints=constraints, integrality=np.ones(size), bounds=Bounds(low, high))
            assert result.success, result.message
            found.append(round(result.x[index]))
        return found[0], found[1]
