"""Signpost: social-determinants signposting, directory and anonymised indicators."""

__version__ = "0.1.0"
