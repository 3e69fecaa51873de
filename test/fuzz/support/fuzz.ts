/** Property-test helpers: run counts, hostile values, raw gRPC calls, and a tally printed per property. */
import fc from 'fast-check';
import { Client, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';

/** Runs per property: `FUZZ_RUNS` when set, else `fallback`. */
export function runs(fallback: number): number {
  const fromEnv = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback;
}

/** Seed for reproduction: `FUZZ_SEED` when set (fast-check prints the seed of a failure). */
export function seedOption(): { seed?: number } {
  const seed = Number(process.env.FUZZ_SEED);
  return Number.isInteger(seed) ? { seed } : {};
}

/** One megabyte of text. */
export const HUGE = 'x'.repeat(1024 * 1024);

/** Boundary and hostile strings. */
export const nastyStrings = [
  '', ' ', '\u0000', '\t\n', '..', '../../etc/passwd', '%2e%2e%2f', '%', '%zz', '\\', '//', '?', '#', '$', '{}', '[]', 'null', 'undefined', 'NaN', '-1', '0',
  '9'.repeat(400), '\ud800', '\udfff', '\ufeff', '\u202e', '😀'.repeat(100), 'ä'.repeat(300), 'A'.repeat(70_000), HUGE,
  'https://', 'https:', 'https://storage.azure.com/..', 'https://storage.azure.com/%2e%2e', 'https://user:pw@storage.azure.com', 'http://storage.azure.com',
  'https://storage.azure.com?x=1', 'https://storage.azure.com#f', 'https://[::1', 'https://[::1]:99999', 'javascript:alert(1)', 'file:///etc/passwd',
  'data:text/plain,hi', 'https://storage.azure.com/.default', 'HTTPS://STORAGE.AZURE.COM', ' https://storage.azure.com ', 'https://storage.azure.com:443/',
  "'; DROP TABLE accounts; --", 'SELECT * FROM c', '<script>', '${jndi:ldap://x}', '__proto__', 'constructor', 'fmrt_', `fmrt_${'A'.repeat(43)}`,
];

/** A string of any kind: short random (ASCII, unicode, binary), a URL, or a boundary value. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }), weight: 2 },
  { arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }), weight: 2 },
  { arbitrary: fc.constantFrom(...nastyStrings), weight: 3 },
);

/** A printable ASCII metadata value (grpc-js refuses others on the client side). */
export const metadataValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.base64String({ maxLength: 120 }).map((s) => `Bearer fmrt_${s}`),
  fc.constantFrom('Bearer', 'Bearer ', 'bearer x', 'Basic dXNlcjpwYXNz', 'Bearer a b', `Bearer ${'x'.repeat(4000)}`, 'Bearer eyJhbGciOiJub25lIn0.e30.'),
);

/** A uint32/int32 boundary or random integer. */
export const anyInt: fc.Arbitrary<number> = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 1000, 10_001));

/** Status code of a call (OK = 0). */
export async function codeOf(call: Promise<unknown>): Promise<{ code: status; details: string }> {
  try {
    await call;
    return { code: status.OK, details: '' };
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code ?? status.UNKNOWN, details: e.details ?? String(err) };
  }
}

/** A client that sends raw bytes to any method path (identity serialization). */
export class RawClient {
  readonly #client: Client;
  constructor(address: string, channel: ChannelCredentials) {
    this.#client = new Client(address, channel, { 'grpc.max_send_message_length': -1 });
  }
  /** Sends `bytes` as the request of `path` (e.g. `/fhirmesh.routing.v1.TokenService/GetToken`). */
  call(path: string, bytes: Uint8Array, metadata = new Metadata(), timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), metadata, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!)));
    });
  }
  /** Sends `bytes` as the request of the server-streaming `path`; resolves with the first answer (then cancels), rejects with the status. */
  firstOfStream(path: string, bytes: Uint8Array, metadata = new Metadata(), timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const call = this.#client.makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), metadata, { deadline: Date.now() + timeoutMs });
      call.once('data', (b: Buffer) => {
        resolve(b);
        call.cancel();
      });
      call.on('error', reject); // after a first answer this is the cancellation, and the promise is settled
    });
  }
  close(): void {
    this.#client.close();
  }
}

/** Counts inputs per property and the statuses seen; prints `fuzz: <name> <n> inputs (...)`. */
export class Tally {
  readonly #counts = new Map<string, { inputs: number; codes: Map<string, number> }>();
  /** Records one input of `property` answered with `code` (a gRPC status or HTTP status). */
  add(property: string, code: string | number): void {
    const entry = this.#counts.get(property) ?? { inputs: 0, codes: new Map() };
    entry.inputs++;
    const key = typeof code === 'number' && code < 100 ? (status[code] ?? String(code)) : String(code);
    entry.codes.set(key, (entry.codes.get(key) ?? 0) + 1);
    this.#counts.set(property, entry);
  }
  /** Prints one line for `property`. */
  print(property: string): void {
    const entry = this.#counts.get(property);
    const codes = entry ? [...entry.codes].map(([k, v]) => `${k} ${v}`).join(', ') : '';
    console.log(`fuzz: ${property} ${entry?.inputs ?? 0} inputs (${codes})`);
  }
}

/** Asserts `code` is one of `allowed`, naming the input (trimmed) when it is not. */
export function expectCode(what: string, got: { code: status; details: string }, allowed: status[], input: unknown): void {
  if (allowed.includes(got.code)) return;
  const shown = JSON.stringify(input, (_k, v) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}...(${v.length})` : v instanceof Uint8Array ? `bytes(${v.length})` : v));
  throw new Error(`${what}: got ${status[got.code]} "${got.details.slice(0, 200)}", expected ${allowed.map((c) => status[c]).join('|')}; input ${shown?.slice(0, 600)}`);
}

/** `fc.assert` whose failure reads well: the property's own error first, the (trimmed) counterexample after. */
export async function assertProperty<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { numRuns, ...seedOption() });
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    const cause = e.cause instanceof Error ? e.cause.message : String(e.cause ?? '');
    const seed = /\{ seed: -?\d+, path: "[^"]*"/.exec(e.message)?.[0] ?? '';
    throw new Error(`${cause.slice(0, 2000)}\n(${seed} }; rerun with FUZZ_SEED)\n${e.message.replace(/(.{100})[^\n]{1000,}/g, '$1...').slice(0, 2000)}`);
  }
}
