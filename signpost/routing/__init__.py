"""Routing: needs to eligible, ranked services with reasons."""

from signpost.routing.service import Match, Offer, categories_for, route

__all__ = ["Match", "Offer", "categories_for", "route"]
