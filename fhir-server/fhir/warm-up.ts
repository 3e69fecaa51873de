/**
 * Building what the R4 definitions feed before the server serves: the
 * definitions themselves, the validation table and the search extraction of
 * every resource type, and the required-binding value sets. Built lazily on the
 * first write or export line instead, they hold the event loop for seconds,
 * past an export item's heartbeat.
 */
import { r4ResourceTypes } from './resource-types.ts';
import { resourceIssues } from './validation/resource-check.ts';
import { exportBlockers } from './validation/stored-resource.ts';
import { searchIndexOf } from '../search/search-index.ts';

/** Builds the definitions-derived tables of every resource type now; returns the milliseconds it took. */
export function warmFhirDefinitions(): number {
  const started = performance.now();
  for (const resourceType of r4ResourceTypes()) {
    const sample = { resourceType, id: 'warm-up' };
    resourceIssues(sample);
    exportBlockers(sample);
    searchIndexOf(sample);
  }
  resourceIssues({ resourceType: 'Patient', id: 'warm-up', gender: 'female' }); // a required binding: loads the value sets
  return Math.round(performance.now() - started);
}
