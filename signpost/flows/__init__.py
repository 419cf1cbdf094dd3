"""Flows: orchestration that crosses domains (see DESIGN.md)."""
