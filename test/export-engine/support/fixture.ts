/**
 * Test support for the export engine: the four stand-ins, a resource store in a
 * fresh database, an Entra app whose `ClientSecretCredential` writes to Azurite,
 * engines with their own jobs container, and readers that check what landed in
 * Blob Storage through a shared-key client.
 */
import { HostPortAllowList } from '../../../common/net/host-allow-list.ts';
import type { TokenCredential } from '@azure/core-auth';
import type { CosmosClient } from '@azure/cosmos';
import { ClientSecretCredential } from '@azure/identity';
import { RestError, StorageSharedKeyCredential, type BlobServiceClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import { trustCa } from '../../../common/azure-tls.ts';
import { createBlobServiceClient } from '../../../common/blob.ts';
import { createCosmosClient } from '../../../common/cosmos.ts';
import { createLogger } from '../../../common/logging.ts';
import { startStandIns, type StandIns, type StandInsOptions } from '../../../dev/standins.ts';
import { openExportEngine, type OpenExportEngineOptions } from '../../../fhir-server/export/engine/open.ts';
import type { ExportEngine } from '../../../fhir-server/export/engine/export-engine.ts';
import type { ExportEngineOptions } from '../../../fhir-server/export/engine/options.ts';
import { CosmosJobStore } from '../../../fhir-server/export/engine/cosmos-job-store.ts';
import type { ExportCaller, ExportJobView, ExportRequest } from '../../../fhir-server/export/ports.ts';
import { openCosmosResourceStore, type CosmosResourceStore } from '../../../fhir-server/store/cosmos-resource-store.ts';

/** The caller most tests act as. */
export const caller: ExportCaller = { principal: 'client-a' };

/** Running stand-ins with a store and an identity for Blob Storage. */
export interface ExportFixture {
  standIns: StandIns;
  cosmos: CosmosClient;
  store: CosmosResourceStore;
  databaseId: string;
  /** Reads blobs with the account key (verification only). */
  blobs: BlobServiceClient;
  /** The app whose credential the engines write with. */
  writer: { appId: string; secret: string };
  /** Registers an app and returns its secret credential (tokens for https://storage.azure.com). */
  credentialFor(registration?: { tokenLifetimeSeconds?: number }): { appId: string; secret: string; credential: TokenCredential };
  /** An engine with its own jobs container; its workers start unless `startWorkers` is false. */
  engine(options?: Partial<ExportEngineOptions>, extra?: Partial<OpenExportEngineOptions> & { startWorkers?: boolean }): Promise<ExportEngine>;
  /** The job store an engine made here uses (to look at records). */
  jobsOf(engine: ExportEngine): CosmosJobStore;
  /** Stops the engines it made and the stand-ins. */
  stop(): Promise<void>;
}

/** Options most tests run the engine with: fast polling, small pages. */
export const fastOptions: Partial<ExportEngineOptions> = {
  jobPollingFrequencySeconds: 0.2,
  jobHeartbeatTimeoutThresholdSeconds: 5,
  maximumNumberOfResourcesPerQuery: 50,
  numberOfPagesPerCommit: 2,
  maximumNumberOfConcurrentJobsAllowed: 4,
};

let jobContainers = 0;

/** Starts everything. */
export async function startExportFixture(standInsOptions: StandInsOptions = {}): Promise<ExportFixture> {
  const standIns = await startStandIns(standInsOptions);
  const { tls, entra, blob } = standIns;
  const cosmos = createCosmosClient({ endpoint: standIns.cosmos.endpoint, key: standIns.cosmos.key, caPem: tls.caPem });
  const databaseId = `export-${process.pid}`;
  const store = await openCosmosResourceStore(cosmos, { databaseId });
  const blobs = createBlobServiceClient({ url: blob.blobUrl, credential: new StorageSharedKeyCredential(blob.accountName, blob.accountKey), caPem: tls.caPem });
  const engines: ExportEngine[] = [];
  const containers = new Map<ExportEngine, string>();
  const credentialFor: ExportFixture['credentialFor'] = (registration = {}) => {
    const secret = randomBytes(18).toString('base64url');
    const { appId } = entra.registerApplication({ secrets: [secret], ...registration });
    const credential = new ClientSecretCredential(entra.tenantId, appId, secret, {
      authorityHost: entra.authorityHost,
      disableInstanceDiscovery: true,
      additionalPolicies: trustCa(tls.caPem),
    });
    return { appId, secret, credential };
  };
  const writer = credentialFor();
  return {
    standIns,
    cosmos,
    store,
    databaseId,
    blobs,
    writer: { appId: writer.appId, secret: writer.secret },
    credentialFor,
    async engine(options = {}, extra = {}) {
      jobContainers += 1;
      const { startWorkers = true, ...rest } = extra;
      const engine = await openExportEngine({
        cosmos,
        databaseId,
        jobsContainerId: `jobs-${jobContainers}`,
        store,
        credential: writer.credential,
        caPem: tls.caPem,
        // Client destinations in these tests are containers of the local Azurite (loopback): exempt that endpoint only.
        clientDestinationGuard: { allow: HostPortAllowList.parse([new URL(blob.blobUrl).host]) },
        logger: createLogger('export-test', process.env.EXPORT_TEST_LOG ?? 'silent'),
        ...rest,
        options: { ...fastOptions, storageAccountUri: blob.blobUrl, ...options },
      });
      engines.push(engine);
      containers.set(engine, rest.jobsContainerId ?? `jobs-${jobContainers}`);
      if (startWorkers) engine.pool.start();
      return engine;
    },
    jobsOf(engine) {
      return new CosmosJobStore(cosmos.database(databaseId).container(containers.get(engine)!));
    },
    async stop() {
      for (const engine of engines) await engine.pool.stop(2_000);
      cosmos.dispose();
      await standIns.stop();
    },
  };
}

/** A system export request, changed by `overrides`. */
export function exportRequest(overrides: Partial<ExportRequest> = {}): ExportRequest {
  return {
    level: 'system',
    types: [],
    typeFilters: [],
    elements: [],
    patients: [],
    includeAssociatedData: [],
    outputFormat: 'application/fhir+ndjson',
    handling: 'lenient',
    notes: [],
    destination: { kind: 'default', container: 'exports' },
    requestUrl: 'https://fhir.example/$export',
    ...overrides,
  };
}

/** Polls until the job has ended (or is undefined); fails after `limitMs`. */
export async function waitForEnd(engine: ExportEngine, id: string, who: ExportCaller = caller, limitMs = 45_000): Promise<ExportJobView> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const view = await engine.get(id, who);
    if (!view) throw new Error(`job ${id} disappeared`);
    if (view.status === 'completed' || view.status === 'failed' || view.status === 'cancelled') return view;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${view.status} after ${limitMs} ms (${view.progress.exported}/${view.progress.total})`);
    await sleep(100);
  }
}

/** The text of a blob read with the account key. */
export async function readBlob(blobs: BlobServiceClient, container: string, name: string): Promise<string> {
  const buffer = await blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer();
  return buffer.toString('utf8');
}

/** The NDJSON lines of every listed file of `type` (in manifest order). */
export async function linesOf(blobs: BlobServiceClient, container: string, view: ExportJobView, type: string, list: 'output' | 'deleted' | 'errors' = 'output'): Promise<string[]> {
  const lines: string[] = [];
  for (const file of view[list].filter((f) => f.type === type)) {
    const text = await readBlob(blobs, container, `${view.id}/${file.fileName}`);
    if (!text.endsWith('\n')) throw new Error(`${file.fileName} does not end with a newline`);
    const fileLines = text.slice(0, -1).split('\n');
    if (fileLines.length !== file.count) throw new Error(`${file.fileName}: manifest says ${file.count} lines, file has ${fileLines.length}`);
    if (Buffer.byteLength(text) !== file.sizeBytes) throw new Error(`${file.fileName}: manifest says ${file.sizeBytes} bytes, file has ${Buffer.byteLength(text)}`);
    lines.push(...fileLines);
  }
  return lines;
}

/** Every live resource of `type` as the store serves it (JSON text), keyed by id. */
export async function storeJson(store: CosmosResourceStore, type: string, filter: { asOfMs?: number; afterMs?: number; compartments?: string[] } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let continuation;
  do {
    const page: Awaited<ReturnType<CosmosResourceStore['queryForExport']>> = await store.queryForExport({ resourceType: type, pageSize: 500, ...filter, ...(continuation ? { continuation } : {}) });
    for (const item of page.items) if (item.json) out.set(item.id, item.json);
    continuation = page.continuation;
  } while (continuation);
  return out;
}

/** Asserts each line appears once and the set equals `expected` (id -> exact JSON text). */
export function exactlyOnce(lines: string[], expected: Map<string, string>, label: string): void {
  const seen = new Map<string, string>();
  for (const line of lines) {
    const id = (JSON.parse(line) as { id: string }).id;
    if (seen.has(id)) throw new Error(`${label}: ${id} exported twice`);
    seen.set(id, line);
  }
  const missing = [...expected.keys()].filter((id) => !seen.has(id));
  const extra = [...seen.keys()].filter((id) => !expected.has(id));
  if (missing.length || extra.length) throw new Error(`${label}: ${missing.length} missing (${missing.slice(0, 3).join(', ')}), ${extra.length} unexpected (${extra.slice(0, 3).join(', ')})`);
  for (const [id, line] of seen) if (line !== expected.get(id)) throw new Error(`${label}: ${id} differs from the store's JSON`);
}

/** Registers a test whose Azure SDK errors stay readable to uvu's reporter. */
export function it(name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (err) {
      if (err instanceof RestError || (err as { statusCode?: unknown }).statusCode !== undefined) {
        const e = err as RestError;
        throw new Error(`${e.statusCode ?? '-'} ${e.code ?? ''}: ${e.message}`);
      }
      throw err;
    }
  });
}
