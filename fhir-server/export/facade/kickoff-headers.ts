/** The kick-off headers: `Accept` (FHIR JSON) and `Prefer` (`respond-async`, `handling=`). */
import { FhirError } from '../../fhir/errors.ts';

// Media ranges that admit application/fhir+json (the only format of a kick-off's OperationOutcome).
const acceptable = new Set(['application/fhir+json', 'application/json', 'application/*', '*/*']);

/** What is wrong with `accept` (the header as sent, `''` when absent), or undefined when it allows application/fhir+json. */
function acceptProblem(accept: string): { kind: 'invalid' | 'not-supported'; text: string } | undefined {
  if (accept.trim() === '') return { kind: 'invalid', text: 'The kick-off has no Accept header; the Bulk Data IG requires Accept: application/fhir+json' };
  const ranges = accept.split(',').map((range) => {
    const [type = '', ...params] = range.split(';').map((part) => part.trim());
    const q = params.find((p) => /^q=/i.test(p));
    return { type: type.toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  if (ranges.some((range) => acceptable.has(range.type) && range.q > 0)) return undefined;
  return { kind: 'not-supported', text: `Accept "${accept.slice(0, 100)}" does not allow application/fhir+json, the only format a kick-off answers in` };
}

/**
 * Checks `Accept` (REST; `''` when the header is absent): it must allow
 * application/fhir+json. With strict handling a missing or excluding header
 * refuses the kick-off (400); with lenient handling it proceeds and `note` records it.
 */
export function checkAccept(accept: string, handling: Preferences['handling'], note: (text: string) => void): void {
  const problem = acceptProblem(accept);
  if (!problem) return;
  if (handling === 'strict') throw new FhirError(problem.kind, `${problem.text}. The kick-off was refused (strict handling)`, { expression: 'Accept' });
  note(`${problem.text}. The kick-off went ahead under lenient handling and answers in application/fhir+json`);
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
