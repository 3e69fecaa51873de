/** The kick-off headers: `Accept` (FHIR JSON or absent) and `Prefer` (`respond-async`, `handling=`). */
import { FhirError } from '../../fhir/errors.ts';

// Media ranges that admit application/fhir+json (the only format of a kick-off's OperationOutcome).
const acceptable = new Set(['application/fhir+json', 'application/json', 'application/*', '*/*']);

/** Refuses an `Accept` header that rules out `application/fhir+json`; absent is fine. */
export function checkAccept(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return;
  const ranges = accept.split(',').map((range) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim());
    const q = params.find((p) => /^q=/i.test(p));
    return { type: type.toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  if (ranges.some((range) => acceptable.has(range.type) && range.q > 0)) return;
  throw new FhirError('not-supported', 'Accept must allow application/fhir+json: a kick-off answers only in FHIR JSON', { expression: 'Accept' });
}

/** What `Prefer` asks for. */
export interface Preferences {
  /** `handling=`; strict unless lenient is asked for. */
  handling: 'strict' | 'lenient';
}

/** Reads `Prefer`: `respond-async` is required; `handling` must be `strict` or `lenient` and said once. */
export function parsePrefer(prefer: string | undefined): Preferences {
  const tokens = (prefer ?? '')
    .split(',')
    .map((token) => token.split(';')[0]!.trim())
    .filter((token) => token !== '');
  if (!tokens.some((token) => token.toLowerCase() === 'respond-async')) {
    throw new FhirError('invalid', 'Prefer: respond-async is required: $export runs asynchronously', { expression: 'Prefer' });
  }
  const handlings = new Set<string>();
  for (const token of tokens) {
    const match = /^handling\s*=\s*"?([^"]*)"?$/i.exec(token);
    if (!match) continue;
    const value = match[1]!.toLowerCase();
    if (value !== 'strict' && value !== 'lenient') throw new FhirError('invalid', 'Prefer: handling must be strict or lenient', { expression: 'Prefer' });
    handlings.add(value);
  }
  if (handlings.size > 1) throw new FhirError('invalid', 'Prefer names both handling=strict and handling=lenient', { expression: 'Prefer' });
  return { handling: handlings.has('lenient') ? 'lenient' : 'strict' };
}
