"""Signpost: social-determinants signposting, directory and anonymised indicators."""

from signpost import native

__version__ = "0.1.0"

# The hot modules compiled, when `make` has built them from this very source; else they run as Python.
native.install()
