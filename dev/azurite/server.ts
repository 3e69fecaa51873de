/**
 * Blob Storage stand-in: Azurite's blob service over HTTPS on loopback, with
 * `oauth: basic` so bearer tokens are accepted (claims checked, signatures not).
 *
 * Azurite runs as a child process so its request handling never shares an event
 * loop with the code under test. The child's stdin is a pipe from this process:
 * it shuts down when the pipe closes, which happens on `stop()` and also when
 * this process dies in any way (even SIGKILL), so no orphan keeps a port.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { LocalTls } from '../certs.ts';

/** Name of the single storage account Azurite serves by default. */
export const azuriteAccountName = 'devstoreaccount1';

/** The well-known shared key of Azurite's default account. */
export const azuriteAccountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options for {@link startAzurite}. */
export interface AzuriteOptions {
  /** Loopback TLS material; Azurite reads the leaf certificate and key from these files. */
  tls: Pick<LocalTls, 'certFile' | 'keyFile'>;
  /** Port on 127.0.0.1; 0 (default) lets the system pick a free one. */
  port?: number;
  /** Folder to persist blobs and metadata in; without it everything lives in memory. */
  location?: string;
  /** File for Azurite's debug log (every authentication decision is logged there). */
  debugLogFile?: string;
  /** How long to wait for Azurite to listen, in ms (default 30 000). */
  startTimeoutMs?: number;
}

/** A running Blob Storage stand-in. */
export interface RunningAzurite {
  /** Account URL (path style), `https://127.0.0.1:PORT/devstoreaccount1`. */
  blobUrl: string;
  /** Storage account name. */
  accountName: string;
  /** Storage account shared key (base64). */
  accountKey: string;
  /** Process id of the Azurite child. */
  pid: number;
  /** Shuts Azurite down and resolves once the child has exited. */
  stop(): Promise<void>;
}

const blobMain = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');

// Preloaded into the child: when stdin closes (stop() or the parent died), raise the
// SIGTERM Azurite already handles; if its shutdown stalls, exit anyway.
const lifeline = [
  "process.stdin.on('end', () => {",
  "  setTimeout(() => process.exit(0), 3000).unref();",
  "  process.kill(process.pid, 'SIGTERM');",
  '});',
  "process.stdin.on('error', () => process.exit(0));",
  'process.stdin.resume();',
  'process.stdin.unref();',
].join('\n');

const listening = /successfully listens on (https?:\/\/\S+)/;

/** Starts Azurite's blob service on 127.0.0.1 and resolves once it listens. */
export async function startAzurite(options: AzuriteOptions): Promise<RunningAzurite> {
  const { tls, port = 0, location, debugLogFile, startTimeoutMs = 30_000 } = options;
  const args = [
    '--import', `data:text/javascript,${encodeURIComponent(lifeline)}`,
    blobMain,
    '--blobHost', '127.0.0.1',
    '--blobPort', String(port),
    '--cert', tls.certFile,
    '--key', tls.keyFile,
    '--oauth', 'basic',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--disableTelemetry',
    '--silent',
    ...(location ? ['--location', location] : ['--inMemoryPersistence']),
    ...(debugLogFile ? ['--debug', debugLogFile] : []),
  ];
  // Settings from the environment would silently change the account or the metadata store.
  const env = { ...process.env };
  delete env.AZURITE_ACCOUNTS;
  delete env.AZURITE_DB;
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });

  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stderr.on('data', keep);
  child.stdin.on('error', () => undefined); // EPIPE when the child is already gone
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // A parent that exits normally closes the pipe too; this only makes the end immediate.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let address: string;
  try {
    address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Azurite did not listen within ${startTimeoutMs} ms`)), startTimeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        keep(chunk);
        const match = listening.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited before listening (${signal ?? `code ${code}`})`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    process.off('exit', killOnExit);
    throw new Error(`${(err as Error).message}\n${output.trim()}`, { cause: err });
  }

  let stopping: Promise<void> | undefined;
  return {
    blobUrl: `${address}/${azuriteAccountName}`,
    accountName: azuriteAccountName,
    accountKey: azuriteAccountKey,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        process.off('exit', killOnExit);
      })();
      return stopping;
    },
  };
}
