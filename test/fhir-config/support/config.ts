/**
 * Test support: a minimal valid fhir-server environment, config files in a
 * temporary folder, and a logger whose lines the test can read.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../../common/logging.ts';
import type { LocalTls } from '../../../dev/certs.ts';

/** Secret values used by the tests (must never show in a redacted view). */
export const secrets = { cosmosKey: 'cosmos-key-SECRET-d41d8cd98f', refreshToken: 'rt-SECRET-9e107d9d372bb6826bd81d3542a419d6' };

/** The settings every fhir-server needs, as environment variables. */
export function requiredEnv(tls: LocalTls, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    FHIR_TLS_CERT_FILE: tls.certFile,
    FHIR_TLS_KEY_FILE: tls.keyFile,
    FHIR_COSMOS_ENDPOINT: 'https://127.0.0.1:8081',
    FHIR_COSMOS_KEY: secrets.cosmosKey,
    FHIR_ROUTING_ADDRESS: '127.0.0.1:7443',
    FHIR_ROUTING_REFRESH_TOKEN: secrets.refreshToken,
    FHIR_ROUTING_ACCOUNT_NAME: 'contoso',
    FHIR_AUTH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    ...extra,
  };
}

let files = 0;
const dir = mkdtempSync(join(tmpdir(), 'fhir-config-'));

/** Writes `content` (an object is serialised as JSON) to a fresh file and returns its path. */
export function configFile(content: unknown): string {
  files += 1;
  const path = join(dir, `config-${files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A logger writing JSON lines into memory. */
export function memoryLogger(level = 'debug'): { logger: Logger; lines(): Array<Record<string, unknown>>; text(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = createLogger('fhir-server-test', level, sink);
  return {
    logger,
    text: () => text,
    lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The message of a thrown error (fails when nothing is thrown). */
export function thrownMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}
