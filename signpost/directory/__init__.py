"""The service directory (Open Referral UK 3.0 model): maintenance, duplicates, search, FHIR mapping.

Public surface, for other domains: `from signpost.directory import service as directory`, then
`directory.search_services(session=, query=directory.ServiceQuery(...)) -> ServicePage` (hits with
`service`, `reasons`, `distance_km`, `no_premises`), `directory.to_healthcare_service(service)`,
`directory.find_duplicates(...)`, `directory.index_service(...)`, `directory.record_audit(...)`.
Readers that show or rank services read them through `signpost.directory.read_model` (`views` for a page of
services, `candidates` for routing). Tables are in `signpost.directory.models`.
"""
