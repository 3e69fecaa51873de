/**
 * What a work item writes for each scanned item: the store's JSON text as is
 * (byte for byte what GET returns), or the resource checked against the
 * patient scope and subsetted by `_elements` (`_typeFilter` is applied by the
 * scan query itself: type-filter.ts). A resource
 * with a value that is no value of its FHIR datatype (stored before validation
 * on write, docs/validation.md) is not written: an OperationOutcome naming it
 * goes to the item's error stream instead. Deletions become Bundle lines
 * (Bulk Data IG v2).
 */
import { patientCompartmentsOf } from '../../fhir/compartments.ts';
import type { FhirResource } from '../../fhir/types.ts';
import { exportBlockers, storedResourceIssues } from '../../fhir/validation/stored-resource.ts';
import { elementsFor, subsetResource } from './elements.ts';
import type { JobRecord, WorkItem } from './job-record.ts';

/** How an item turns resources into lines. */
export interface LineRules {
  /** Elements to keep; undefined = whole resources. */
  elements?: Set<string>;
  /** Only resources in some Patient compartment (Patient export without a patient list). */
  anyPatient: boolean;
  /** With a sliced patient list: a resource is written by the slice of its first listed patient only. */
  owner?: { sliceOf: Map<string, number>; slice: number };
}

/** The rules of `item` of `job`. */
export function lineRulesFor(job: JobRecord, item: WorkItem): LineRules {
  const rules: LineRules = { anyPatient: job.scope?.patientCompartmentOnly === true && !job.scope.compartments };
  const elements = elementsFor(job.request.elements, item.resourceType);
  if (elements) rules.elements = elements;
  const { compartments, chunkSize } = job.scope ?? {};
  if (compartments && chunkSize && compartments.length > chunkSize && item.compartmentChunk !== undefined) {
    rules.owner = { sliceOf: new Map(compartments.map((c, i) => [c, Math.floor(i / chunkSize)])), slice: item.compartmentChunk };
  }
  return rules;
}

function owned(resource: FhirResource, owner: NonNullable<LineRules['owner']>): boolean {
  let first = Infinity;
  for (const compartment of patientCompartmentsOf(resource)) first = Math.min(first, owner.sliceOf.get(compartment) ?? Infinity);
  return first === owner.slice;
}

/** One NDJSON line and the stream it goes to. */
export interface Line {
  /** `resources` for the resource, `errors` for the OperationOutcome of a withheld one. */
  stream: 'resources' | 'errors';
  /** The line, without its newline. */
  text: string;
}

/** The line for a live resource's `json` (version `versionId`), or undefined when the rules leave it out. */
export function resourceLine(json: string, rules: LineRules, versionId?: number): Line | undefined {
  const resource = JSON.parse(json) as FhirResource;
  if (rules.anyPatient && patientCompartmentsOf(resource).length === 0) return undefined;
  if (rules.owner && !owned(resource, rules.owner)) return undefined;
  if (exportBlockers(resource).length > 0) return { stream: 'errors', text: JSON.stringify(withheldOutcome(resource, versionId)) };
  return { stream: 'resources', text: rules.elements ? JSON.stringify(subsetResource(resource, rules.elements)) : json };
}

/** The OperationOutcome of a resource not exported: what is wrong in it (errors: why it was withheld; warnings: other problems). */
export function withheldOutcome(resource: FhirResource, versionId?: number): Record<string, unknown> {
  const name = `${resource.resourceType}/${String(resource.id)}${versionId === undefined ? '' : ` (version ${versionId})`}`;
  const issues = storedResourceIssues(resource);
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: `${name} was not exported: it holds values that are not valid values of their FHIR datatypes (it was stored before the server validated writes). Correct it (PUT a valid version) and export again.`,
        expression: [resource.resourceType],
      },
      ...issues.map((found) => ({ severity: found.breaksDatatype ? 'error' : 'warning', code: found.code, diagnostics: found.diagnostics, expression: [found.expression] })),
    ],
  };
}

/** The line for a deletion of `resourceType/id`: a transaction Bundle with one DELETE entry. */
export function deletedLine(resourceType: string, id: string): string {
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `${resourceType}/${id}` } }] });
}
