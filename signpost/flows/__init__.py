"""Flows: the use cases that cross domains, each told as one story (see DESIGN.md).

- `signposting`: validate → assess → place → route → record (`$signpost`, the template and SMART pages).
- `prescribing`: record a prescriber's signposts; make a referral.
- `cds_advice` (with `clinical_record`, `record_matches`): CDS Hooks cards from the record in the EHR.
- `smart_writeback`: write the answer back to the EHR after a SMART launch.

Domains never import flows; the edges (`api`, `fhir_api`, `web`, `cds_hooks`) call them.
"""
