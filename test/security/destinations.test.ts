/**
 * Where a client may send an export: client-supplied destination URLs that
 * lead to loopback, link-local (the cloud metadata endpoint), private, shared
 * or IPv4-embedding IPv6 addresses — literally, in unusual IPv4 spellings, or
 * by host names resolving there — or that are not https or carry user info,
 * are refused with 400 before anything is stored; `_container` path tricks are
 * refused at the REST and gRPC doors. The fhir-server here allows no local
 * hosts (the end-to-end tests cover a configured allow-list).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { bearerMetadata, tlsChannelCredentials, unaryCall } from '../../common/grpc/client.ts';
import { startMeshSetup, type MeshSetup } from '../../dev/mesh-setup.ts';
import { ExportLevel, ExportServiceClient, type StartExportRequest } from '../../gen/fhirmesh/fhir/v1/export_service.ts';
import { expectStatus } from '../support/grpc.ts';
import { loud } from '../support/hooks.ts';
import { https, type HttpResponse } from '../support/https.ts';
import { newClient } from './support/mesh-clients.ts';

const SIG = 'c2VjcmV0LXNpZ25hdHVyZS1kby1ub3QtbGVhaw%3D%3D';
const sas = `sv=2023-11-03&sr=c&sp=racwl&se=2099-01-01T00%3A00%3A00Z&sig=${SIG}`;
let mesh: MeshSetup;
let ca: string;
let token: string;
let exportsGrpc: ExportServiceClient;

/** Hosts that must be refused, by what they are. */
const refusedHosts: [string, string][] = [
  ['127.0.0.1', 'loopback'], ['127.1', 'loopback (short form)'], ['2130706433', 'loopback (decimal)'], ['0x7f000001', 'loopback (hex)'],
  ['0177.0.0.1', 'loopback (octal)'], ['127.255.255.254', 'loopback'], ['localhost', 'name resolving to loopback'], ['LOCALHOST.', 'name resolving to loopback (upper case, trailing dot)'],
  ['vm', 'name resolving to loopback (/etc/hosts)'], ['[::1]', 'IPv6 loopback'], ['[0:0:0:0:0:0:0:1]', 'IPv6 loopback (long)'],
  ['[::ffff:127.0.0.1]', 'IPv4-mapped loopback'], ['[::ffff:7f00:1]', 'IPv4-mapped loopback (hex)'], ['[::ffff:169.254.169.254]', 'IPv4-mapped metadata endpoint'],
  ['[::ffff:10.0.0.1]', 'IPv4-mapped private'], ['[64:ff9b::a9fe:a9fe]', 'NAT64 metadata endpoint'], ['[2002:a9fe:a9fe::]', '6to4 metadata endpoint'],
  ['169.254.169.254', 'link-local (metadata endpoint)'], ['169.254.0.1', 'link-local'], ['[fe80::1]', 'IPv6 link-local'], ['[febf::1]', 'IPv6 link-local (top)'],
  ['10.0.0.1', 'private 10/8'], ['10.255.255.255', 'private 10/8'], ['172.16.0.1', 'private 172.16/12'], ['172.31.255.255', 'private 172.16/12 (top)'],
  ['192.168.0.1', 'private 192.168/16'], ['192.168.255.255', 'private 192.168/16'], ['[fc00::1]', 'IPv6 unique local'], ['[fd12:3456:789a::1]', 'IPv6 unique local'],
  ['0.0.0.0', 'unspecified'], ['[::]', 'IPv6 unspecified'], ['100.64.0.1', 'shared (CGNAT)'], ['168.63.129.16', 'Azure platform'], ['224.0.0.1', 'multicast'],
];
/** Other destination URLs that must be refused. */
const refusedUrls: [string, string][] = [
  [`http://acct.blob.core.windows.net/exports?${sas}`, 'not https'],
  [`ftp://acct.blob.core.windows.net/exports?${sas}`, 'ftp'],
  [`file:///etc/passwd?${sas}`, 'file'],
  [`javascript:alert(1)//?${sas}`, 'javascript'],
  [`https://user:pass@acct.blob.core.windows.net/exports?${sas}`, 'user info'],
  [`https://user@acct.blob.core.windows.net/exports?${sas}`, 'user name'],
  [`https://acct.blob.core.windows.net@127.0.0.1/exports?${sas}`, 'user info hiding a loopback host'],
  [`https://acct.blob.core.windows.net/exports/../other?${sas}`, 'dot segments'],
  [`https://acct.blob.core.windows.net/exports%2F..%2Fother?${sas}`, 'encoded separators'],
  [`https://acct.blob.core.windows.net/exports`, 'no SAS'],
  [`https://acct.blob.core.windows.net/exports?${sas}#frag`, 'fragment'],
  [`https://acct.blob.core.windows.net/exports?sv=1&sr=c&sig=${SIG}&se=2000-01-01T00%3A00%3A00Z`, 'expired SAS'],
  [` https://127.0.0.1/devstoreaccount1/exports?${sas}`, 'loopback behind whitespace'],
  [`https://127.0.0.1\\@acct.blob.core.windows.net/exports?${sas}`, 'backslash confusion'],
];

async function kickoff(destination: string): Promise<HttpResponse> {
  return https(`${mesh.fhir.baseUrl}/$export`, {
    method: 'POST',
    ca,
    token,
    headers: { prefer: 'respond-async' },
    body: { resourceType: 'Parameters', parameter: [{ name: '_destination', valueUrl: destination }] },
  });
}

function assertRefused(res: HttpResponse, what: string): void {
  assert.is(res.status, 400, `${what}: ${res.status} ${res.body.slice(0, 300)}`);
  const outcome = JSON.parse(res.body) as { resourceType: string; issue: { code: string }[] };
  assert.is(outcome.resourceType, 'OperationOutcome', what);
  assert.not.ok(res.body.includes(SIG) || res.body.includes(decodeURIComponent(SIG)), `${what}: the SAS signature is not echoed`);
  assert.is(res.headers['content-location'], undefined, `${what}: no job`);
}

test.before(loud('before', async () => {
  mesh = await startMeshSetup({ accountName: 'dest-sec', fhirEnv: { FHIR_EXPORT_ALLOWED_DESTINATION_HOSTS: '' } });
  ca = mesh.routing.standIns.tls.caPem;
  token = await newClient(mesh, ['Fhir.Export']).token();
  exportsGrpc = new ExportServiceClient(mesh.fhir.grpcAddress, tlsChannelCredentials(ca));
}));
test.after(async () => {
  exportsGrpc?.close();
  await mesh?.stop();
});

test('destinations on non-public addresses are refused (400), whatever the spelling, and nothing is put in Key Vault', async () => {
  const setsBefore = JSON.stringify(mesh.routing.standIns.keyVault.stats().byOperation.setSecret ?? {});
  for (const [host, what] of refusedHosts) {
    for (const path of ['/devstoreaccount1/exports', '/exports']) {
      assertRefused(await kickoff(`https://${host}${path}?${sas}`), `${host} (${what})`);
      assertRefused(await kickoff(`https://${host}:10000${path}?${sas}`), `${host}:10000 (${what})`);
    }
  }
  for (const [url, what] of refusedUrls) assertRefused(await kickoff(url), what);
  assert.is(JSON.stringify(mesh.routing.standIns.keyVault.stats().byOperation.setSecret ?? {}), setsBefore, 'no destination secret was stored');
  console.log(`destinations: ${refusedHosts.length * 4 + refusedUrls.length} refused destination URLs`);
});

test('a destination in the query string is refused: a SAS must not travel in a URL', async () => {
  const res = await https(`${mesh.fhir.baseUrl}/$export?_destination=${encodeURIComponent(`https://acct.blob.core.windows.net/exports?${sas}`)}`, { ca, token, headers: { prefer: 'respond-async' } });
  assert.is(res.status, 400);
  assert.match(res.body, /only in a POST Parameters body/);
});

test('the gRPC door refuses the same destinations with INVALID_ARGUMENT', async () => {
  const request = (destination: StartExportRequest['destination']): StartExportRequest => ({
    level: ExportLevel.EXPORT_LEVEL_SYSTEM, groupId: '', outputFormat: '', types: [], typeFilters: [], elements: [], patients: [], includeAssociatedData: [], handling: 0, requestUrl: '', destination,
  });
  for (const [host, what] of refusedHosts.slice(0, 20)) {
    const err = await expectStatus(unaryCall(exportsGrpc.startExport, exportsGrpc, request({ kind: { $case: 'containerSas', value: { containerSasUrl: `https://${host}/acct/exports?${sas}` } } }), bearerMetadata(token)), status.INVALID_ARGUMENT)
      .catch((err: Error) => Promise.reject(new Error(`${what}: ${err.message}`)));
    assert.not.ok(err.details.includes(SIG), `${what}: no SAS in the status message`);
  }
});

/** `_container` values that must be refused. */
const badContainers = [
  '..', '../other', '../../etc', '%2e%2e', '%2E%2E%2Fother', '.%2e', 'a/b', '/abs', 'a\\b', 'exports/', 'UPPER', 'MixedCase', 'a'.repeat(64), 'ab', '-abc', 'abc-',
  'a--b', 'con tainer', 'ünïcode', '.', '$root', 'a%00b', 'a\u0000b', '', 'a'.repeat(5000), 'x;rm -rf', 'exports?x=1', 'exports#f',
];

test('`_container` path tricks are refused at the REST door (GET query and POST body) and the gRPC door', async () => {
  let checked = 0;
  for (const value of badContainers) {
    const get = await https(`${mesh.fhir.baseUrl}/$export?_container=${encodeURIComponent(value)}`, { ca, token, headers: { prefer: 'respond-async' } });
    assert.is(get.status, 400, `GET _container=${JSON.stringify(value.slice(0, 40))}: ${get.body.slice(0, 200)}`);
    assert.is(get.headers['content-location'], undefined);
    const post = await https(`${mesh.fhir.baseUrl}/$export`, { method: 'POST', ca, token, headers: { prefer: 'respond-async' }, body: { resourceType: 'Parameters', parameter: [{ name: '_container', valueString: value }] } });
    assert.is(post.status, 400, `POST _container=${JSON.stringify(value.slice(0, 40))}: ${post.body.slice(0, 200)}`);
    if (value !== '') {
      await expectStatus(
        unaryCall(exportsGrpc.startExport, exportsGrpc, { level: ExportLevel.EXPORT_LEVEL_SYSTEM, groupId: '', outputFormat: '', types: [], typeFilters: [], elements: [], patients: [], includeAssociatedData: [], handling: 0, requestUrl: '', destination: { kind: { $case: 'defaultStorage', value: { container: value } } } }, bearerMetadata(token)),
        status.INVALID_ARGUMENT,
      ).catch((err: Error) => Promise.reject(new Error(`gRPC _container=${JSON.stringify(value.slice(0, 40))}: ${err.message}`)));
    }
    checked += 3;
  }
  // A raw (not re-encoded) dot-dot and double-encoded forms in the query string.
  for (const raw of ['..%2fother', '%252e%252e', '..', '%2e%2e%2f']) {
    const res = await https(`${mesh.fhir.baseUrl}/$export?_container=${raw}`, { ca, token, headers: { prefer: 'respond-async' } });
    assert.is(res.status, 400, `raw _container=${raw}: ${res.body.slice(0, 200)}`);
    checked++;
  }
  console.log(`destinations: ${checked} _container tricks refused`);
});

test.run();
