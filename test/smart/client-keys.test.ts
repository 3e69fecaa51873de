/**
 * Clients registered by `jwks_uri`: the document is fetched at registration
 * (unreachable or keyless → 400), cached, fetched again when an assertion
 * names a new `kid` (key rotation at the client), and an unreachable
 * document at token time is `invalid_client`. The fetch is the port's fake.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClientKeys } from '../../fhir-server/http/smart/client-keys.ts';
import { generateClientKey, signClientAssertion, type ClientKey } from '../../fhir-server/http/smart/client-credentials.ts';
import { smartApp, TOKEN_ENDPOINT, tokenRequestForm } from './support/app.ts';

const URI = 'https://keys.client.test/jwks.json';

function published() {
  const state = { keys: [] as ClientKey[], fetches: 0, down: false };
  const keys = new ClientKeys({
    minRefreshSeconds: 0,
    fetch: async (url) => {
      state.fetches += 1;
      if (state.down || url !== URI) throw new Error('connect ECONNREFUSED');
      return { keys: [...state.keys.map((k) => k.publicJwk), { kty: 'oct', k: 'ignored', kid: 'symmetric' }] };
    },
  });
  return { state, keys };
}

test('registration fetches the jwks_uri: unreachable or without a usable key → 400', async () => {
  const { state, keys } = published();
  const s = await smartApp(keys);
  const register = () => s.app.inject({ method: 'POST', url: '/_admin/smart/clients', payload: { scope: 'system/*.read', jwks_uri: URI } });
  state.down = true;
  assert.is((await register()).statusCode, 400);
  state.down = false;
  const res = await register();
  assert.is(res.statusCode, 400, 'only a symmetric key published');
  assert.match(JSON.parse(res.body).issue[0].diagnostics, /no RS384\/ES384 public key/);
  await s.app.close();
});

test('a rotated client key is found by fetching again; the cached document serves known kids; an unreachable document is invalid_client', async () => {
  const { state, keys } = published();
  state.keys.push(await generateClientKey('RS384'));
  const s = await smartApp(keys);
  const reg = await s.app.inject({ method: 'POST', url: '/_admin/smart/clients', payload: { scope: 'system/*.read', jwks_uri: URI } });
  assert.is(reg.statusCode, 201, reg.body);
  const clientId = JSON.parse(reg.body).client_id as string;
  const ask = async (key: ClientKey) => s.token(tokenRequestForm(await signClientAssertion({ clientId, tokenEndpoint: TOKEN_ENDPOINT, key }), 'system/*.read'));

  assert.is((await ask(state.keys[0]!)).status, 200);
  const fetchesBefore = state.fetches;
  assert.is((await ask(state.keys[0]!)).status, 200);
  assert.is(state.fetches, fetchesBefore, 'known kid: served from the cache');

  const rotated = await generateClientKey('ES384');
  state.keys.push(rotated);
  assert.is((await ask(rotated)).status, 200, 'new kid: fetched again');

  state.down = true;
  const unknown = await ask(await generateClientKey('ES384'));
  assert.is(unknown.status, 401);
  assert.is(unknown.body.error, 'invalid_client');
  assert.match(String(unknown.body.error_description), /jwks_uri could not be fetched/);
  await s.app.close();
});

test.run();
