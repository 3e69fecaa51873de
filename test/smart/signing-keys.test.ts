/**
 * Access-token signing keys shared by several instances: a Key Vault secret
 * created on first start (two instances racing converge and accept each
 * other's tokens), rotated by setting a new version (the previous key keeps
 * verifying), and configured PEM files with a previous key.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientSecretCredential } from '@azure/identity';
import { randomUUID } from 'node:crypto';
import { trustCa } from '../../common/azure-tls.ts';
import { ensureLocalTls, type LocalTls } from '../../dev/certs.ts';
import { startEntra, type EntraStandIn } from '../../dev/entra/index.ts';
import { startKeyVault, type KeyVaultStandIn } from '../../dev/keyvault/index.ts';
import { AccessTokenError, SmartAccessTokens } from '../../fhir-server/http/smart/access-tokens.ts';
import { keyVaultSigningKeySource } from '../../fhir-server/http/smart/key-vault-signing-keys.ts';
import { generateSigningKeyPem, pemSigningKeySource, SigningKeyRing, type SigningKeySource } from '../../fhir-server/http/smart/signing-keys.ts';
import { loud } from '../support/hooks.ts';

let tls: LocalTls;
let entra: EntraStandIn;
let vault: KeyVaultStandIn;
let credential: ClientSecretCredential;

test.before(loud('before', async () => {
  tls = await ensureLocalTls();
  entra = await startEntra({ tls });
  vault = await startKeyVault({ tls, entra: { jwksUri: entra.jwksUri, issuer: entra.issuer(), tenantId: entra.tenantId, authorityHost: entra.authorityHost } });
  const secret = `s-${randomUUID()}`;
  const app = entra.registerApplication({ displayName: 'fhir-server', secrets: [secret] });
  vault.grant(app.objectId, ['get', 'set', 'list']);
  credential = new ClientSecretCredential(entra.tenantId, app.appId, secret, { authorityHost: entra.authorityHost, disableInstanceDiscovery: true, additionalPolicies: trustCa(tls.caPem) });
}));
test.after(async () => {
  await vault?.stop();
  await entra?.stop();
});

const ISSUER = 'https://fhir.test';
const instance = (source: SigningKeySource) => {
  const keys = new SigningKeyRing(source, { unknownKidRefreshSeconds: 0 });
  return { keys, tokens: new SmartAccessTokens({ keys, issuer: () => ISSUER }) };
};
const refused = async (verifying: Promise<unknown>) => {
  const outcome = await verifying.then(() => 'verified', (err: unknown) => (err instanceof AccessTokenError ? 'refused' : `failed: ${(err as Error).message}`));
  assert.is(outcome, 'refused');
};
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;

test('two instances starting at once on an empty vault converge and verify each other\'s tokens', async () => {
  const secretName = `smart-${randomUUID().slice(0, 8)}`;
  const source = () => keyVaultSigningKeySource({ vaultUrl: vault.url, credential, secretName, caPem: tls.caPem });
  const [a, b] = [instance(source()), instance(source())];
  await Promise.all([a.keys.load(), b.keys.load()]);
  const fromA = (await a.tokens.issue('client-a', ['system/*.read'])).accessToken;
  const fromB = (await b.tokens.issue('client-b', ['system/*.read'])).accessToken;
  assert.is((await b.tokens.verify(fromA)).clientId, 'client-a');
  assert.is((await a.tokens.verify(fromB)).clientId, 'client-b');
  const c = instance(source());
  await c.keys.load();
  const fromC = (await c.tokens.issue('client-c', ['system/*.read'])).accessToken;
  assert.ok([kidOf(fromA), kidOf(fromB)].includes(kidOf(fromC)), 'a later instance signs with one of the raced keys');
  assert.is((await a.tokens.verify(fromC)).clientId, 'client-c');
  assert.is((await b.tokens.verify(fromC)).clientId, 'client-c');
});

test('rotation: a new secret version signs after a reload, the two before it still verify, older ones no longer do', async () => {
  const secretName = `smart-${randomUUID().slice(0, 8)}`;
  const a = instance(keyVaultSigningKeySource({ vaultUrl: vault.url, credential, secretName, caPem: tls.caPem }));
  await a.keys.load();
  const first = (await a.tokens.issue('c', ['system/*.read'])).accessToken;
  vault.putSecret(secretName, generateSigningKeyPem(), { contentType: 'application/x-pem-file' });
  await a.keys.load();
  const second = (await a.tokens.issue('c', ['system/*.read'])).accessToken;
  assert.is.not(kidOf(second), kidOf(first));
  assert.is((await a.tokens.verify(first)).clientId, 'c', 'previous key verifies');
  for (let i = 0; i < 2; i++) vault.putSecret(secretName, generateSigningKeyPem(), { contentType: 'application/x-pem-file' });
  await a.keys.load();
  await refused(a.tokens.verify(first));
  assert.is((await a.tokens.verify(second)).clientId, 'c', 'two rotations back still verifies');
});

test('an instance that has not reloaded yet picks up a newer key when a token names it', async () => {
  const secretName = `smart-${randomUUID().slice(0, 8)}`;
  const source = () => keyVaultSigningKeySource({ vaultUrl: vault.url, credential, secretName, caPem: tls.caPem });
  const [a, b] = [instance(source()), instance(source())];
  await a.keys.load();
  await b.keys.load();
  vault.putSecret(secretName, generateSigningKeyPem(), { contentType: 'application/x-pem-file' });
  await a.keys.load();
  const rotated = (await a.tokens.issue('c', ['system/*.read'])).accessToken;
  assert.is((await b.tokens.verify(rotated)).clientId, 'c');
});

test('PEM files: current signs, previous verifies; a token of an unrelated key is refused', async () => {
  const previousPem = generateSigningKeyPem();
  const old = instance(pemSigningKeySource([previousPem]));
  const oldToken = (await old.tokens.issue('c', ['system/Patient.read'])).accessToken;
  const rotated = instance(pemSigningKeySource([generateSigningKeyPem(), previousPem]));
  assert.equal((await rotated.tokens.verify(oldToken)).scopes, ['system/Patient.read']);
  assert.is.not(kidOf((await rotated.tokens.issue('c', ['system/Patient.read'])).accessToken), kidOf(oldToken));
  const stranger = instance(pemSigningKeySource([generateSigningKeyPem()]));
  await refused(stranger.tokens.verify(oldToken));
});

test.run();
