"""Indicators: roll-ups kept current with the events, suppressed reports, FHIR Measures, push.

Others may use `rollup.fold_all`, `rollup.fold_every`, `service.report`,
`service.check_period`, `retention.retain`, and `suppression.SuppressionPolicy`: its `publish(count, cell_key)` is the
one path any published count takes (perturbed, suppressed, rounded; see suppression's docstring for a new source).
"""
