"""Indicators: roll-ups kept current with the events, suppressed reports, FHIR Measures, push.

Others may use `rollup.apply` (called by `events.record`), `service.report`, `suppression.SuppressionPolicy`.
"""
