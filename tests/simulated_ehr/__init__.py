"""A simulated EHR for tests and demos: a FHIR server, a SMART authorization server and a patient page that shows
CDS Hooks cards. Independent of `signpost`: it talks to Signpost over HTTP only, as a real EHR would."""
