/**
 * The Blob Storage stand-in, driven only through the real `@azure/storage-blob` SDK:
 * bearer-token writes over HTTPS work, and requests without a valid token are refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  AnonymousCredential,
  BlobClient,
  BlobSASPermissions,
  RestError,
  StorageSharedKeyCredential,
  type BlobServiceClient,
} from '@azure/storage-blob';
import { SignJWT, generateKeyPair, type CryptoKey } from 'jose';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { blobPipeline, blobSasVersion, createBlobServiceClient, type BlobCredential } from '../../common/blob.ts';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { startAzurite, type RunningAzurite } from '../../dev/azurite/server.ts';

const tenantId = randomUUID();

/** Claims a minted token deviates in, and how long it says it lives. */
interface MintOptions {
  issuer?: string;
  audience?: string;
  /** Seconds from now to the token's `exp` (negative: already expired). */
  lifetimeSeconds?: number;
  /** Leave out `nbf` and `iat`. */
  withoutNotBefore?: boolean;
}

/** A TokenCredential that mints v1-shaped RS256 access tokens itself, as Entra ID would issue them. */
class MintedTokenCredential implements TokenCredential {
  readonly scopesAsked: string[] = [];
  constructor(
    private readonly key: CryptoKey,
    private readonly mint: MintOptions = {},
  ) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.scopesAsked.push(...[scopes].flat());
    const now = Math.floor(Date.now() / 1000);
    const lifetime = this.mint.lifetimeSeconds ?? 3600;
    const jwt = new SignJWT({ oid: randomUUID(), tid: tenantId, appid: randomUUID(), ver: '1.0' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.mint.issuer ?? `https://sts.windows.net/${tenantId}/`)
      .setAudience(this.mint.audience ?? 'https://storage.azure.com')
      .setSubject(randomUUID())
      .setExpirationTime(now + lifetime);
    const issued = Math.min(now, now + lifetime - 60);
    if (!this.mint.withoutNotBefore) jwt.setIssuedAt(issued).setNotBefore(issued);
    const token = await jwt.sign(this.key);
    // Reported as fresh even when the JWT is not, so the SDK sends it instead of asking again.
    return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

/**
 * Registers a test whose SDK errors stay readable: uvu's reporter calls `details.split()`,
 * and a `RestError`'s `details` is an object, which silently aborts the whole run.
 */
function it(name: string, body: () => Promise<void> | void): void {
  test(name, async () => {
    try {
      await body();
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      throw new Error(`${err.statusCode ?? '-'} ${err.code ?? ''}: ${err.message}`, { cause: err });
    }
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.once('close', () => socket.destroy());
    socket.once('connect', () => socket.end());
  });
}

let tls: LocalTls;
let azurite: RunningAzurite;
let signingKey: CryptoKey;
let startupMs = 0;
const container = `export-${randomUUID()}`;

function client(credential: BlobCredential): BlobServiceClient {
  // One try: refusals are never retried anyway, and a failure should surface at once.
  return createBlobServiceClient({ url: azurite.blobUrl, credential, caPem: tls.caPem, retryOptions: { maxTries: 1 } });
}

function minted(mint: MintOptions = {}): MintedTokenCredential {
  return new MintedTokenCredential(signingKey, mint);
}

/** Runs `call` and expects the service to refuse it with error `code` (and, when given, a matching detail). */
async function refused(call: () => Promise<unknown>, code: string, detail?: RegExp): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof RestError)) throw err;
    const details = (err.details ?? {}) as { errorCode?: string; authenticationErrorDetail?: string };
    assert.ok([401, 403, 404].includes(err.statusCode ?? 0), `expected a refusal, got ${err.statusCode}: ${err.message}`);
    assert.is(details.errorCode, code);
    if (detail) assert.match(details.authenticationErrorDetail ?? '', detail);
    return;
  }
  assert.unreachable('request was accepted');
}

test.before(async () => {
  tls = await ensureLocalTls();
  ({ privateKey: signingKey } = await generateKeyPair('RS256'));
  const started = performance.now();
  azurite = await startAzurite({ tls });
  startupMs = performance.now() - started;
});

test.after(async () => {
  await azurite?.stop();
});

it('Azurite listens over HTTPS on loopback, quickly', () => {
  assert.match(azurite.blobUrl, /^https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
  assert.ok(startupMs < 10_000, `startup took ${startupMs.toFixed(0)} ms`);
  console.log(`    azurite ready in ${startupMs.toFixed(0)} ms at ${azurite.blobUrl}`);
});

it('a bearer-token client writes, reads and lists block blobs', async () => {
  const credential = minted();
  const service = client(credential);
  const containerClient = service.getContainerClient(container);
  await containerClient.create();

  const ndjson = containerClient.getBlockBlobClient('Patient-1.ndjson');
  const blocks = [randomBytes(70_000), Buffer.from('{"resourceType":"Patient","id":"p1"}\n'), randomBytes(1)];
  const ids = blocks.map((_, i) => Buffer.from(`block-${String(i).padStart(6, '0')}`).toString('base64'));
  for (const [i, block] of blocks.entries()) await ndjson.stageBlock(ids[i]!, block, block.length);
  const uncommitted = await ndjson.getBlockList('uncommitted');
  assert.is(uncommitted.uncommittedBlocks?.length, blocks.length);
  await ndjson.commitBlockList(ids, { blobHTTPHeaders: { blobContentType: 'application/fhir+ndjson' } });
  const written = Buffer.concat(blocks);
  assert.equal(await ndjson.downloadToBuffer(), written);

  const whole = containerClient.getBlockBlobClient('Observation-1.ndjson');
  const body = Buffer.from('{"resourceType":"Observation","id":"o1"}\n');
  await whole.upload(body, body.length);
  assert.equal(await whole.downloadToBuffer(), body);

  const props = await ndjson.getProperties();
  assert.is(props.contentLength, written.length);
  assert.is(props.contentType, 'application/fhir+ndjson');

  const names: string[] = [];
  for await (const blob of containerClient.listBlobsFlat()) names.push(blob.name);
  assert.equal(names.sort(), ['Observation-1.ndjson', 'Patient-1.ndjson']);
  assert.ok(credential.scopesAsked.includes('https://storage.azure.com/.default'), credential.scopesAsked.join());
});

it('the account-URL audience is accepted too', async () => {
  const service = client(minted({ audience: `https://${azurite.accountName}.blob.core.windows.net` }));
  assert.ok(await service.getContainerClient(container).exists());
});

it('no credential is refused', async () => {
  const service = client(new AnonymousCredential());
  await refused(() => service.getContainerClient(container).getBlobClient('Patient-1.ndjson').download(), 'AuthorizationFailure');
  await refused(() => service.getContainerClient(container).getBlockBlobClient('anon.ndjson').upload('x', 1), 'AuthorizationFailure');
  await refused(() => service.getContainerClient(`anon-${randomUUID()}`).create(), 'AuthorizationFailure');
});

it('an expired token is refused', async () => {
  const service = client(minted({ lifetimeSeconds: -600 }));
  const expired = /token is expired/;
  await refused(() => service.getContainerClient(container).getBlockBlobClient('late.ndjson').upload('x', 1), 'AuthenticationFailed', expired);
  await refused(() => service.getContainerClient(container).getBlobClient('Patient-1.ndjson').download(), 'AuthenticationFailed', expired);
});

it('a token for another audience is refused', async () => {
  for (const audience of ['https://vault.azure.net', 'https://management.azure.com/', 'https://otheraccount.blob.core.windows.net']) {
    const service = client(minted({ audience }));
    await refused(() => service.getContainerClient(container).getBlockBlobClient('aud.ndjson').upload('x', 1), 'AuthenticationFailed', /audience/);
  }
});

it('a token from another issuer is refused', async () => {
  for (const issuer of [`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.example.com/${tenantId}/`]) {
    const service = client(minted({ issuer }));
    await refused(() => service.getContainerClient(container).getBlockBlobClient('iss.ndjson').upload('x', 1), 'AuthenticationFailed', /issuer/);
  }
});

it('a token without nbf and iat is refused', async () => {
  const service = client(minted({ withoutNotBefore: true }));
  await refused(() => service.getContainerClient(container).getBlockBlobClient('nbf.ndjson').upload('x', 1), 'AuthenticationFailed', /not supported/);
});

it('the shared key of the account works (for tooling, not the services)', async () => {
  const service = client(new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
  assert.ok(await service.getContainerClient(container).getBlobClient('Patient-1.ndjson').exists());
});

it('a user delegation key from a bearer token signs a SAS URL that downloads the blob', async () => {
  const service = client(minted());
  const startsOn = new Date(Date.now() - 5 * 60_000);
  const expiresOn = new Date(Date.now() + 60 * 60_000);
  const key = await service.getUserDelegationKey(startsOn, expiresOn);
  assert.is(key.signedTenantId, tenantId);
  assert.ok(key.value, 'key has a value');

  const blob = service.getContainerClient(container).getBlobClient('Observation-1.ndjson');
  const permissions = BlobSASPermissions.parse('r');
  const sasUrl = await blob.generateUserDelegationSasUrl({ permissions, startsOn, expiresOn, version: blobSasVersion }, key);
  assert.match(sasUrl, /[?&]skoid=/);
  const viaSas = new BlobClient(sasUrl, blobPipeline(new AnonymousCredential(), tls.caPem));
  assert.equal(await viaSas.downloadToBuffer(), Buffer.from('{"resourceType":"Observation","id":"o1"}\n'));

  // The SAS grants read only, and a tampered signature is refused.
  await refused(() => viaSas.getBlockBlobClient().upload('x', 1), 'AuthorizationPermissionMismatch');
  const tampered = new BlobClient(sasUrl.replace(/sig=[^&]+/, 'sig=AAAA'), blobPipeline(new AnonymousCredential(), tls.caPem));
  await refused(() => tampered.download(), 'AuthorizationFailure');
});

it('getUserDelegationKey needs a bearer token', async () => {
  const service = client(new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
  await refused(() => service.getUserDelegationKey(new Date(), new Date(Date.now() + 3_600_000)), 'AuthenticationFailed', /Bearer/);
});

it('stop() ends the Azurite process and frees its port', async () => {
  const second = await startAzurite({ tls });
  const port = Number(new URL(second.blobUrl).port);
  assert.is.not(port, Number(new URL(azurite.blobUrl).port));
  assert.ok(await accepts(port));
  await second.stop();
  assert.throws(() => process.kill(second.pid, 0));
  assert.not.ok(await accepts(port));
});

it('Azurite ends when the process that started it is killed', async () => {
  const parent = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `
      const { startAzurite } = await import(${JSON.stringify(new URL('../../dev/azurite/server.ts', import.meta.url).href)});
      const azurite = await startAzurite({ tls: ${JSON.stringify({ certFile: tls.certFile, keyFile: tls.keyFile })} });
      console.log(new URL(azurite.blobUrl).port);
      setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  assert.ok(await accepts(port));
  parent.kill('SIGKILL');
  const deadline = Date.now() + 5000;
  while ((await accepts(port)) && Date.now() < deadline) await sleep(50);
  assert.not.ok(await accepts(port), 'orphaned Azurite still listening');
});

test.run();
