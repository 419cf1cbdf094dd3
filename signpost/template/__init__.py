"""The social determinants template: loading, validation, needs and extraction."""

from signpost.template import conformance
from signpost.template.extract import bundle, observations
from signpost.template.needs import Assessment, Need, Preferences, assess
from signpost.template.validation import Checked, validate

__all__ = [
    "Assessment",
    "Checked",
    "Need",
    "Preferences",
    "assess",
    "bundle",
    "conformance",
    "observations",
    "validate",
]
