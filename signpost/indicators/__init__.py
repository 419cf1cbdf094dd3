"""Indicators: roll-ups kept current with the events, suppressed reports, FHIR Measures, push.

Others may use `rollup.defer` (called by `events.record`), `rollup.fold_all`, `service.report`,
`suppression.SuppressionPolicy`.
"""
