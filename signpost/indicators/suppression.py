"""Small-number suppression, applied before any figure leaves the service.

`nhs` (the default): counts 1 to 7 are suppressed and every other count is rounded to the nearest 5;
totals are computed from the unrounded counts and then rounded. `threshold`: counts from 1 up to the
threshold are suppressed, others shown as they are. `none`: everything as counted, for admins only and
never for an export. Zero is always shown as zero (it discloses nobody).
"""

from dataclasses import dataclass
from typing import Literal

PolicyName = Literal["nhs", "threshold", "none"]
NHS_SUPPRESS_UP_TO = 7
NHS_ROUND_TO = 5


@dataclass(frozen=True)
class SuppressionPolicy:
    name: PolicyName
    threshold: int = 10

    @property
    def description(self) -> str:
        if self.name == "nhs":
            return (
                f"NHS small-number rule: counts 1 to {NHS_SUPPRESS_UP_TO} suppressed, every other count rounded "
                f"to the nearest {NHS_ROUND_TO}; totals computed from unrounded counts, then rounded; zero shown as 0."
            )
        if self.name == "threshold":
            return f"Counts 1 to {self.threshold - 1} suppressed, others shown as counted; zero shown as 0."
        return "No suppression: counts as recorded (admin only, never exported)."

    def publish(self, count: int) -> int | None:
        """The published figure for one cell, or None when it is suppressed."""
        if count == 0:
            return 0
        if self.name == "nhs":
            if count <= NHS_SUPPRESS_UP_TO:
                return None
            return ((count + NHS_ROUND_TO // 2) // NHS_ROUND_TO) * NHS_ROUND_TO
        if self.name == "threshold":
            return None if count < self.threshold else count
        return count

    def total(self, counts: list[int]) -> int | None:
        """A total: the unrounded counts summed, then published under the same rule."""
        return self.publish(sum(counts))

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"policy": self.name, "description": self.description}
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
