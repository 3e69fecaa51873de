/**
 * Checks for fhir-server dependency outage tests: an answer is a 503 with
 * Retry-After and an OperationOutcome (never a 500), naming no secret.
 */
import type { HttpResponse } from '../../support/https.ts';

/** Throws unless `res` is 503 + Retry-After + a `transient` OperationOutcome without secrets; returns its diagnostics. */
export function expectUnavailable(res: HttpResponse, what: string, secrets: string[] = []): string {
  if (res.status !== 503) throw new Error(`${what}: expected 503, got ${res.status} ${res.body.slice(0, 300)}`);
  const retryAfter = Number(res.headers['retry-after']);
  if (!(retryAfter > 0)) throw new Error(`${what}: 503 without a positive Retry-After (${String(res.headers['retry-after'])})`);
  const outcome = JSON.parse(res.body) as { resourceType?: string; issue?: { code?: string; diagnostics?: string }[] };
  if (outcome.resourceType !== 'OperationOutcome') throw new Error(`${what}: 503 body is not an OperationOutcome: ${res.body.slice(0, 200)}`);
  if (outcome.issue?.[0]?.code !== 'transient') throw new Error(`${what}: issue code ${outcome.issue?.[0]?.code}, expected transient`);
  for (const secret of secrets) if (secret && res.body.includes(secret)) throw new Error(`${what}: the answer echoes a secret`);
  if (/sig=|eyJ[\w-]+\.[\w-]+\./.test(res.body)) throw new Error(`${what}: the answer carries a signature or token`);
  return `${res.status} Retry-After ${retryAfter}: ${outcome.issue[0]!.diagnostics ?? ''}`;
}
