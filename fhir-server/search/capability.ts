/**
 * What search adds to the CapabilityStatement: per resource type the
 * `search-type` interaction, exactly the search parameters the parser accepts
 * (parameters.ts: the R4 definitions minus composite, special and expression-less
 * ones), and the `_include`/`_revinclude` values it accepts.
 */
import type { FhirResource } from '../fhir/types.ts';
import { r4Definitions } from '../fhir/definitions.ts';
import { supportedParametersOf } from './parameters.ts';

/** `CapabilityStatement.rest.resource.searchParam` of one type. */
export function searchParamsOf(resourceType: string): { name: string; definition: string; type: string }[] {
  return supportedParametersOf(resourceType)
    .map((p) => ({ name: p.code, definition: p.url, type: p.type }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `searchInclude` of one type: `Type:param` for each of its supported reference parameters. */
export function searchIncludesOf(resourceType: string): string[] {
  return supportedParametersOf(resourceType)
    .filter((p) => p.type === 'reference')
    .map((p) => `${resourceType}:${p.code}`)
    .sort();
}

let revIncludes: Map<string, string[]> | undefined;

/** `searchRevInclude` of one type: `Other:param` for each supported reference parameter of any type that may refer to it. */
export function searchRevIncludesOf(resourceType: string): string[] {
  if (!revIncludes) {
    revIncludes = new Map();
    const types = r4Definitions().resourceTypes;
    for (const source of types) {
      for (const p of supportedParametersOf(source)) {
        if (p.type !== 'reference') continue;
        for (const target of p.targets.length > 0 ? p.targets : types) {
          if (!revIncludes.has(target)) revIncludes.set(target, []);
          revIncludes.get(target)!.push(`${source}:${p.code}`);
        }
      }
    }
    for (const list of revIncludes.values()) list.sort();
  }
  return [...(revIncludes.get(resourceType) ?? [])];
}

/** Adds search to a built statement (a `CapabilityRegistry.extend` hook). */
export function addSearchCapabilities(statement: FhirResource): void {
  const rest = (statement.rest as { resource?: Record<string, unknown>[] }[] | undefined) ?? [];
  for (const resource of rest.flatMap((r) => r.resource ?? [])) {
    const type = resource.type as string;
    const interaction = (resource.interaction as { code: string }[] | undefined) ?? [];
    if (!interaction.some((i) => i.code === 'search-type')) interaction.push({ code: 'search-type' });
    resource.interaction = interaction;
    resource.searchParam = searchParamsOf(type);
    resource.searchInclude = searchIncludesOf(type);
    resource.searchRevInclude = searchRevIncludesOf(type);
  }
}
