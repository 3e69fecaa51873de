/** Scraping the mesh's two metrics endpoints and running a small export, for the observability tests. */
import * as assert from 'uvu/assert';
import type { MeshSetup } from '../../../dev/mesh-setup.ts';
import { https } from '../../support/https.ts';
import { parseScrape, type Scrape } from './prom-text.ts';

/** Scrapes the fhir-server's `GET /metrics` with an admin token. */
export async function scrapeFhir(mesh: MeshSetup): Promise<Scrape> {
  const res = await https(`${mesh.fhir.baseUrl}/metrics`, { ca: mesh.routing.standIns.tls.caPem, token: await mesh.bearer(['Fhir.Admin']), headers: { accept: 'text/plain' } });
  assert.is(res.status, 200, res.body.slice(0, 300));
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseScrape(res.body);
}

/** Scrapes the routing server's metrics listener. */
export async function scrapeRouting(mesh: MeshSetup): Promise<Scrape> {
  assert.ok(mesh.routing.metricsUrl, 'the dev routing server serves metrics');
  const res = await https(mesh.routing.metricsUrl!, { ca: mesh.routing.standIns.tls.caPem, headers: { accept: 'text/plain' } });
  assert.is(res.status, 200, res.body.slice(0, 300));
  return parseScrape(res.body);
}

/** Kicks off `/$export?_type=<types>` and waits for the manifest. */
export async function runExport(mesh: MeshSetup, types: string, headers: Record<string, string> = {}): Promise<{ kickoff: Awaited<ReturnType<typeof https>>; manifest: { output: { type: string; url: string; count: number }[] } }> {
  const ca = mesh.routing.standIns.tls.caPem;
  const token = await mesh.bearer(['Fhir.Export', 'Fhir.Read']);
  const kickoff = await https(`${mesh.fhir.baseUrl}/$export?_type=${types}`, { ca, token, headers: { prefer: 'respond-async', ...headers } });
  assert.is(kickoff.status, 202, kickoff.body);
  const statusUrl = String(kickoff.headers['content-location']);
  for (let i = 0; i < 240; i++) {
    const status = await https(statusUrl, { ca, token });
    if (status.status === 200) return { kickoff, manifest: JSON.parse(status.body) };
    assert.is(status.status, 202, status.body);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('export did not complete in time');
}
