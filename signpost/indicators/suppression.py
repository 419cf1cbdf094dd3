"""Disclosure control, applied before any count leaves the service: the one publication path for every count.

A count goes out as `policy.publish(n, cell_key)`: perturbed, then suppressed, then rounded.

1. **Cell-key perturbation** (the method ONS publishes for its census and survey tables, implemented here from its
   description because ONS's `cell-key-perturbation` package tabulates microdata in pandas and reports here come
   from roll-ups). Every event carries a random record key (0..255, drawn by the database); a cell's key is the sum
   of its events' keys mod 256, which the roll-ups keep per cell, so it is additive over periods and groupings.
   The published perturbation table (`PTABLE`, `signpost indicators ptable` prints it) gives, for a count and a
   cell key, the noise added: the same cell always gets the same noise however often or however it is asked, so
   asking again averages nothing away, and two overlapping answers differ by their noise as well as by the
   events between them. Zero stays zero (an empty cell discloses nobody) and no positive count becomes zero.
2. **The NHS rule** on the perturbed count: 1 to 7 suppressed, every other count rounded to the nearest 5.
3. **Totals** are cells of their own: the unrounded counts summed (with their keys), then perturbed and rounded.

Reports also cover whole months only (`service.check_period`): the roll-ups' fixed publication units.

`threshold` perturbs then suppresses below the threshold; `none` (admins only, never exported) shows counts as
recorded. A new count source (say referral outcomes) publishes through `SuppressionPolicy.publish` with the
count and its cell key (the sum of its records' keys mod CELL_KEYS), and states `policy.as_dict()` beside it.
"""

from dataclasses import dataclass
from typing import Literal

PolicyName = Literal["nhs", "threshold", "none"]
NHS_SUPPRESS_UP_TO = 7
NHS_ROUND_TO = 5
METHOD = "cell-key-perturbation+nhs-small-number-rule"

# The perturbation table (ONS layout: pcv, ckey, pvalue). Record and cell keys run 0..255. A count above 750 uses
# the row of a count from 501 to 750 (pcv = (n - 1) % 250 + 501), as ONS's tables do, so the table stays finite.
CELL_KEYS = 256
MAX_PCV = 750
# Noise -2..+2, of a count's 256 cell keys: 26 give -2, 51 give -1, 102 give 0, 51 give +1, 26 give +2.
NOISE_SHARES = ((-2, 26), (-1, 51), (0, 102), (1, 51), (2, 26))
# The keys of each row are rotated by a step of 101 (coprime with 256), so a count's noise does not follow the
# noise of the count one below for the same key.
_ROTATION = 101


def _row(pcv: int) -> tuple[int, ...]:
    """The noise for each cell key of one perturbation cell value (pcv)."""
    if pcv == 0:
        return (0,) * CELL_KEYS
    by_position = [d for d, share in NOISE_SHARES for _ in range(share)]
    # A positive count is never published as 0: its noise stops at 1 - n.
    return tuple(max(by_position[(key + _ROTATION * pcv) % CELL_KEYS], 1 - pcv) for key in range(CELL_KEYS))


PTABLE: tuple[tuple[int, ...], ...] = tuple(_row(pcv) for pcv in range(MAX_PCV + 1))


def pcv(n: int) -> int:
    """The perturbation table row of a count."""
    return n if n <= MAX_PCV else (n - 1) % 250 + 501


def perturb(n: int, cell_key: int) -> int:
    """A count with its cell's noise added: the same (count, cell key) always gives the same figure."""
    return n + PTABLE[pcv(n)][cell_key % CELL_KEYS]


def ptable_rows() -> list[tuple[int, int, int]]:
    """The published perturbation table as (pcv, ckey, pvalue) rows."""
    return [(value, key, PTABLE[value][key]) for value in range(MAX_PCV + 1) for key in range(CELL_KEYS)]


@dataclass(frozen=True)
class SuppressionPolicy:
    name: PolicyName
    threshold: int = 10
    # Only for showing, in tests, what the rule alone lets an intruder do; no setting turns it off.
    perturbed: bool = True

    @property
    def description(self) -> str:
        noise = (
            "Cell-key perturbation (ONS method): each count gets -2 to +2 from a published table keyed by the sum of "
            "its events' random record keys, so the same cell always gets the same figure; zero stays zero. Then "
            if self.perturbed
            else ""
        )
        if self.name == "nhs":
            return (
                f"{noise}NHS small-number rule: counts 1 to {NHS_SUPPRESS_UP_TO} suppressed, every other count rounded "
                f"to the nearest {NHS_ROUND_TO}; totals computed from unrounded counts, then rounded; zero shown as 0. "
                "Whole months only."
            )
        if self.name == "threshold":
            return (
                f"{noise}Counts 1 to {self.threshold - 1} suppressed, others shown; zero shown as 0. Whole months only."
            )
        return "No suppression: counts as recorded (admin only, never exported)."

    @property
    def method(self) -> str:
        """The method's short name, written on every output."""
        if self.name == "none":
            return "none"
        base = "nhs-small-number-rule" if self.name == "nhs" else f"threshold-{self.threshold}"
        return f"cell-key-perturbation+{base}" if self.perturbed else base

    def publish(self, count: int, cell_key: int = 0) -> int | None:
        """The published figure for one cell (perturbed, suppressed, rounded), or None when it is suppressed."""
        if count == 0:
            return 0
        if self.name == "none":
            return count
        n = perturb(count, cell_key) if self.perturbed else count
        if self.name == "nhs":
            if n <= NHS_SUPPRESS_UP_TO:
                return None
            return ((n + NHS_ROUND_TO // 2) // NHS_ROUND_TO) * NHS_ROUND_TO
        return None if n < self.threshold else n

    def total(self, counts: list[int], cell_keys: list[int] | None = None) -> int | None:
        """A total: the unrounded counts summed (and their keys), then published under the same rule."""
        return self.publish(sum(counts), sum(cell_keys or []) % CELL_KEYS)

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"policy": self.name, "method": self.method, "description": self.description}
        if self.name == "threshold":
            found["threshold"] = self.threshold
        return found


def policy_for(*, name: str, threshold: int, admin: bool, export: bool) -> SuppressionPolicy:
    """The policy a report uses: `none` only for an admin looking, never for an export; otherwise NHS."""
    if name == "none" and (not admin or export):
        return SuppressionPolicy("nhs")
    if name not in ("nhs", "threshold", "none"):
        return SuppressionPolicy("nhs")
    return SuppressionPolicy(name, threshold)  # type: ignore[arg-type]
