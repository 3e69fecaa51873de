/**
 * The one kick-off validator of both front doors. It turns a `KickoffInput`
 * into an `ExportRequest` (destination still unresolved) or throws a
 * `FhirError` naming the parameter and why. Malformed values are refused in
 * any handling; unknown or unsupported parameters and types, and an `Accept`
 * header that is missing or rules out FHIR JSON, are refused with
 * `Prefer: handling=strict` (the default) and noted with `handling=lenient`.
 * A refusal says the kick-off was refused; a note says what became of the value.
 */
import { FhirError } from '../../fhir/errors.ts';
import { isValidId } from '../../fhir/ids.ts';
import type { ExportRequest } from '../ports.ts';
import { destinationFrom, type DestinationSpec } from './destination-spec.ts';
import { parseInstant } from './instant.ts';
import { checkAccept, parsePrefer } from './kickoff-headers.ts';
import type { KickoffInput, RawParameter } from './kickoff-input.ts';
import { checkAssociatedData, checkElement, checkPatientReference, invalidParameter, splitList } from './kickoff-lists.ts';
import { typesAndFilters, type Unsupported } from './kickoff-types.ts';
import type { KickoffOptions } from './options.ts';

/** A validated kick-off: the request without its destination, and the destination to resolve. */
export interface ParsedKickoff {
  /** Everything but the destination. */
  request: Omit<ExportRequest, 'destination'>;
  /** The destination asked for. */
  destination: DestinationSpec;
}

const singleValued = new Set(['_outputFormat', '_since', '_until', '_container', '_destination', 'organizeOutputBy', 'allowPartialManifests']);
const listValued = new Set(['_type', '_typeFilter', '_elements', 'patient', 'includeAssociatedData']);
// Parameters of the IG this server does not implement.
const notImplemented = new Set(['organizeOutputBy', 'allowPartialManifests']);
const outputFormats = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const maxParameters = 500;

/** Validates `input`; see the module comment. */
export function parseKickoff(input: KickoffInput, options: KickoffOptions): ParsedKickoff {
  const { handling } = parsePrefer(input.prefer);
  const notes: string[] = [];
  const note = (text: string) => void notes.push(text);
  if (input.accept !== undefined) checkAccept(input.accept, handling, note);
  const unsupported: Unsupported = (parameter, problem, consequence) => {
    if (handling === 'strict') throw new FhirError('not-supported', `${problem}. The kick-off was refused (strict handling)`, { expression: parameter });
    notes.push(`${problem}; ${consequence} (lenient handling)`);
  };
  if (input.level === 'group' && !isValidId(input.groupId)) throw invalidParameter('Group id', 'must be a FHIR id ([A-Za-z0-9-.]{1,64})');
  if (input.parameters.length > maxParameters) throw new FhirError('invalid', `A kick-off may carry at most ${maxParameters} parameters`);

  const byName = new Map<string, string[]>();
  for (const parameter of input.parameters) {
    if (parameter.name === 'patient' && input.form === 'query') throw invalidParameter('patient', 'is accepted only in a POST Parameters body');
    checkValueKind(parameter);
    if (!singleValued.has(parameter.name) && !listValued.has(parameter.name)) {
      unsupported(parameter.name, `Unknown parameter ${parameter.name.slice(0, 64)}: $export does not define it`, 'it was ignored');
      continue;
    }
    byName.set(parameter.name, [...(byName.get(parameter.name) ?? []), parameter.value]);
  }
  for (const [name, values] of byName) {
    if (singleValued.has(name) && values.length > 1) throw invalidParameter(name, 'may be given only once');
    if (notImplemented.has(name)) unsupported(name, `${name} is not supported by this server`, 'it was ignored');
  }
  const one = (name: string) => byName.get(name)?.[0];
  const many = (name: string) => byName.get(name) ?? [];

  const outputFormat = one('_outputFormat');
  // An unencoded `+` in a query string arrives as a space: `application/fhir+ndjson` is meant.
  if (outputFormat !== undefined && !outputFormats.has(outputFormat.trim().replace(/ /g, '+').toLowerCase())) {
    throw invalidParameter('_outputFormat', 'must be application/fhir+ndjson, application/ndjson or ndjson');
  }
  const now = options.now();
  const since = instantOf('_since', one('_since'));
  if (since && Date.parse(since) > now.getTime()) throw invalidParameter('_since', `is in the future (server time ${now.toISOString()})`);
  let until = instantOf('_until', one('_until'));
  if (until && since && Date.parse(until) < Date.parse(since)) throw invalidParameter('_until', 'is before _since');
  if (until && !options.features.until) {
    unsupported('_until', '_until is not supported by this server', 'it was ignored: the export runs to the kick-off time');
    until = undefined;
  }

  const { types, typeFilters } = typesAndFilters(input.level, many('_type'), byName.has('_typeFilter') ? many('_typeFilter') : undefined, options.features.typeFilter, unsupported, note);

  let elements = [...new Set(splitList('_elements', many('_elements')).map(checkElement))];
  if (elements.length > 0 && !options.features.elements) {
    unsupported('_elements', '_elements is not supported by this server', 'it was ignored: resources are exported whole');
    elements = [];
  }

  let patients = [...new Set(many('patient').map(checkPatientReference))];
  if (patients.length > 0) {
    if (input.level === 'system') throw invalidParameter('patient', 'does not apply to a system-level export');
    if (!options.features.patient) {
      unsupported('patient', 'patient is not supported by this server', 'it was ignored: every patient of the export is included');
      patients = [];
    }
  }

  const includeAssociatedData: string[] = [];
  for (const value of new Set(splitList('includeAssociatedData', many('includeAssociatedData')).map(checkAssociatedData))) {
    if (options.features.includeAssociatedData.includes(value)) includeAssociatedData.push(value);
    else {
      const known = options.features.includeAssociatedData.length > 0 ? `it supports ${options.features.includeAssociatedData.join(', ')}` : 'it supports none';
      unsupported('includeAssociatedData', `includeAssociatedData ${value} is not supported by this server (${known})`, 'it was ignored');
    }
  }

  const request: ParsedKickoff['request'] = {
    level: input.level,
    ...(input.level === 'group' ? { groupId: input.groupId! } : {}),
    types,
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    typeFilters,
    elements,
    patients,
    includeAssociatedData,
    outputFormat: 'application/fhir+ndjson',
    handling,
    notes,
    requestUrl: input.requestUrl,
  };
  return { request, destination: destinationFrom(input.form, one('_container'), one('_destination'), options.defaultContainer, options.now()) };
}

function checkValueKind(parameter: RawParameter): void {
  if (parameter.name === 'patient' && !parameter.reference) throw invalidParameter('patient', 'must be a valueReference ({"reference": "Patient/<id>"})');
  if (parameter.name !== 'patient' && parameter.reference) throw invalidParameter(parameter.name.slice(0, 64), 'takes a string value, not a Reference');
}

function instantOf(parameter: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = parseInstant(value.trim());
  if ('problem' in parsed) throw invalidParameter(parameter, parsed.problem);
  return parsed.iso;
}
