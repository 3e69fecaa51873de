/**
 * Where the seed tool stores resources: a Cosmos DB account given by options or
 * environment, or, when none is given, the local Cosmos stand-in started as a
 * child process (memory only: its data lives as long as the tool runs).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createCosmosClient } from '../../common/cosmos.ts';
import { openCosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import type { CosmosResourceStore } from '../../fhir-server/store/cosmos-resource-store.ts';
import { repoRoot } from '../certs.ts';
import { entryArgs } from '../node-entry.ts';

/** How to reach the database. */
export interface ConnectionOptions {
  /** Cosmos DB endpoint; none starts the local stand-in. */
  endpoint?: string;
  /** Account key. */
  key?: string;
  /** PEM file of a CA to trust (private endpoints, the stand-in). */
  caFile?: string;
  /** Database (default `fhir`). */
  database?: string;
  /** Resource container (default `resources`). */
  container?: string;
}

/** An open store and how to let go of it. */
export interface OpenStore {
  /** The store. */
  store: CosmosResourceStore;
  /** Where it is. */
  endpoint: string;
  /** Account key in use. */
  key: string;
  /** CA file in use, if any. */
  caFile?: string;
  /** True when the stand-in was started for this run. */
  standIn: boolean;
  /** Closes the client (and stops the stand-in if it was started here). */
  close(): Promise<void>;
}

interface StandInProcess {
  child: ChildProcess;
  endpoint: string;
  key: string;
  caFile: string;
}

async function startStandIn(): Promise<StandInProcess> {
  const child = spawn(process.execPath, entryArgs('../cosmos/main', import.meta.url), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Cosmos stand-in did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the Cosmos stand-in exited (${code}) before it was ready`)));
    lines.on('line', (line) => {
      const match = /^COSMOS_READY (.*)$/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      const ready = JSON.parse(match[1]!) as { endpoint: string; key: string; caFile: string };
      resolve({ child, ...ready });
    });
  });
}

/** Opens the store described by `options`, starting the stand-in when no endpoint is given. */
export async function openStore(options: ConnectionOptions): Promise<OpenStore> {
  const standIn = options.endpoint ? undefined : await startStandIn();
  const endpoint = options.endpoint ?? standIn!.endpoint;
  const key = options.key ?? standIn?.key;
  if (!key) throw new Error('no Cosmos DB key: give --key or FHIR_COSMOS_KEY');
  const caFile = options.caFile ?? standIn?.caFile;
  const caPem = caFile ? await readFile(caFile, 'utf8') : undefined;
  const client = createCosmosClient({ endpoint, key, caPem });
  const store = await openCosmosResourceStore(client, { databaseId: options.database ?? 'fhir', containerId: options.container });
  return {
    store,
    endpoint,
    key,
    ...(caFile ? { caFile } : {}),
    standIn: standIn !== undefined,
    async close() {
      await store.close?.();
      client.dispose();
      if (standIn && standIn.child.exitCode === null) {
        const exited = new Promise((resolve) => standIn.child.once('exit', resolve));
        standIn.child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
