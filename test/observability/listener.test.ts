/**
 * The metrics listener on its own: HTTPS with the service certificate, the
 * text format at /metrics only, and with a bearer token configured, scrapes
 * without it (or with another) are refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Counter } from 'prom-client';
import { ensureLocalTls } from '../../dev/certs.ts';
import { startMetricsListener, type MetricsListener } from '../../common/metrics/listener.ts';
import { createMetricsRegistry } from '../../common/metrics/registry.ts';
import { loud } from '../support/hooks.ts';
import { https } from '../support/https.ts';
import { parseScrape } from './support/prom-text.ts';

let listener: MetricsListener;
let ca: string;

test.before(loud('before', async () => {
  const tls = await ensureLocalTls();
  ca = tls.caPem;
  const registry = createMetricsRegistry();
  new Counter({ name: 'fhirmesh_test_things_total', help: 'Things', registers: [registry] }).inc(3);
  listener = await startMetricsListener({ registry, host: '127.0.0.1', port: 0, tls: { certPem: tls.certPem, keyPem: tls.keyPem }, bearerToken: 'scrape-secret' });
}));
test.after(async () => {
  await listener?.close();
});

test('a scrape with the bearer token gets the text format', async () => {
  const res = await https(listener.url, { ca, token: 'scrape-secret', headers: { accept: 'text/plain' } });
  assert.is(res.status, 200);
  assert.is(parseScrape(res.body).value('fhirmesh_test_things_total'), 3);
});

test('a scrape without the token, or with another, is refused with 401', async () => {
  for (const token of [undefined, 'scrape-secreT', 'scrape-secret-longer']) {
    const res = await https(listener.url, { ca, ...(token ? { token } : {}) });
    assert.is(res.status, 401, String(token));
    assert.not.match(res.body, /fhirmesh_/);
  }
});

test('only /metrics is served', async () => {
  assert.is((await https(listener.url.replace('/metrics', '/other'), { ca, token: 'scrape-secret' })).status, 404);
  assert.is((await https(listener.url, { ca, token: 'scrape-secret', method: 'POST' })).status, 405);
});

test.run();
