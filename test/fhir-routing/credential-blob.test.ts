/**
 * The managed-identity path end to end: RoutingTokenCredential under a real
 * BlobServiceClient writes to and reads from Azurite with tokens the routing
 * server got from Entra ID for the account's identity.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RestError } from '@azure/storage-blob';
import { createBlobServiceClient } from '../../common/blob.ts';
import { startRoutingSetup, type ProvisionedAccount, type RoutingSetup } from '../../dev/routing-setup.ts';
import { RoutingTokenCredential } from '../../fhir-server/routing/routing-token-credential.ts';
import { claims } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { GET_TOKEN, startInstance, type FhirInstance } from './support/instance.ts';

let setup: RoutingSetup;
let account: ProvisionedAccount;
let fhir: FhirInstance;

/** Registers a test whose storage SDK errors stay readable (uvu's reporter chokes on RestError details). */
function it(name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (err) {
      if (!(err instanceof RestError)) throw err;
      throw new Error(`${err.statusCode ?? '-'} ${err.code ?? ''}: ${err.message.split('\n')[0]}`);
    }
  });
}

test.before(loud('before', async () => {
  setup = await startRoutingSetup();
  account = await setup.provisionAccount('cb-blob');
  fhir = await startInstance(setup, { databaseId: 'fhir-cb-blob', bootstrapRefreshToken: account.refreshToken });
}));

test.after(async () => {
  await fhir?.close();
  await setup?.stop();
});

it('a BlobServiceClient with the routing credential uploads a block blob to Azurite and reads it back', async () => {
  const credential = new RoutingTokenCredential(fhir.tokens, 'export-job-1');
  const service = createBlobServiceClient({ url: setup.standIns.blob.blobUrl, credential, caPem: setup.standIns.tls.caPem });
  const container = service.getContainerClient('export-routing-credential');
  await container.createIfNotExists();
  const body = '{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\n';
  const blob = container.getBlockBlobClient('Patient-1.ndjson');
  await blob.upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/fhir+ndjson' } });
  const downloaded = await blob.downloadToBuffer();
  assert.is(downloaded.toString('utf8'), body);
  const props = await blob.getProperties();
  assert.is(props.contentType, 'application/fhir+ndjson');
  assert.is(fhir.calls.get(GET_TOKEN), 1, 'the SDK reused the credential\'s cached token');
  const token = await credential.getToken('https://storage.azure.com/.default');
  assert.is(claims(token.token).appid, account.clientId, "the account's managed identity wrote the blob");
});

it('the credential strips /.default, reports expiry and refresh-after, and rejects several resources', async () => {
  const credential = new RoutingTokenCredential(fhir.tokens);
  const a = await credential.getToken('https://storage.azure.com/.default');
  const b = await credential.getToken(['https://storage.azure.com']);
  assert.is(a.token, b.token);
  assert.is(a.tokenType, 'Bearer');
  assert.ok(a.expiresOnTimestamp > Date.now());
  assert.ok(a.refreshAfterTimestamp! > Date.now() && a.refreshAfterTimestamp! < a.expiresOnTimestamp);
  let err: Error | undefined;
  try {
    await credential.getToken(['https://storage.azure.com/.default', 'https://vault.azure.net/.default']);
  } catch (e) {
    err = e as Error;
  }
  assert.match(err?.message ?? '', /exactly one resource/);
});

it('an identity without access to the resource surfaces as a typed refusal, not a storage 403', async () => {
  const other = await setup.provisionAccount('cb-other', { allowedResourceUris: ['https://otheracct.blob.core.windows.net'] });
  const fhirOther = await startInstance(setup, { databaseId: 'fhir-cb-other', bootstrapRefreshToken: other.refreshToken });
  try {
    const service = createBlobServiceClient({ url: setup.standIns.blob.blobUrl, credential: new RoutingTokenCredential(fhirOther.tokens), caPem: setup.standIns.tls.caPem });
    let err: unknown;
    try {
      await service.getContainerClient('export-routing-credential').getProperties();
    } catch (e) {
      err = e;
    }
    const text = `${(err as Error)?.name} ${(err as Error)?.message}`;
    assert.match(text, /PERMISSION_DENIED/);
    assert.is(fhirOther.calls.get(GET_TOKEN), 1, 'the refusal was not retried');
  } finally {
    await fhirOther.close();
  }
});

test.run();
