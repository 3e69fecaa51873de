/**
 * An fhir-server process for export fault tests: the real composition
 * (`startFhirServer`, configured from the FHIR_* environment, stopped on
 * SIGINT/SIGTERM like fhir-server/main.ts) with test seams read from
 * EXPORT_FAULT_SEAMS (JSON `{ pageDelayMs?, exportOptions? }`). Prints
 * `FHIR_READY {baseUrl}`, `checkpoint <job> <item>` after each checkpoint,
 * `held <job> <item>` when an item is parked, `draining` on a signal and
 * `stopped <report JSON>` when the stop is done. Lines on stdin: `hold` parks
 * every item after its next page, `release` lets them go on.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../../common/logging.ts';
import { stopOnSignals } from '../../../common/process.ts';
import { startFhirServer } from '../../../fhir-server/app.ts';
import { loadFhirServerConfig } from '../../../fhir-server/config/load.ts';

const seams = JSON.parse(process.env.EXPORT_FAULT_SEAMS ?? '{}') as { pageDelayMs?: number; exportOptions?: Record<string, number> };
let hold: { promise: Promise<void>; release: () => void } | undefined;

// The test process holds stdin open: when it ends, so does this process (no orphans).
process.stdin.on('end', () => process.exit(1));
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'hold' && !hold) {
    let release = () => undefined as void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    hold = { promise, release };
  } else if (line.trim() === 'release' && hold) {
    hold.release();
    hold = undefined;
  }
});

const loaded = loadFhirServerConfig(undefined);
const logger = createLogger('fhir-server', loaded.settings.logLevel);
const running = await startFhirServer(loaded, logger, {
  exportOptions: seams.exportOptions ?? {},
  exportHooks: {
    afterPage: async (jobId, item) => {
      if (seams.pageDelayMs) await sleep(seams.pageDelayMs);
      if (hold) {
        process.stdout.write(`held ${jobId} ${item}\n`);
        await hold.promise;
      }
    },
    afterCheckpoint: (jobId, item) => {
      process.stdout.write(`checkpoint ${jobId} ${item}\n`);
    },
  },
});
process.stdout.write(`FHIR_READY ${JSON.stringify({ baseUrl: running.baseUrl })}\n`);
stopOnSignals(
  async () => {
    const report = await running.stop();
    process.stdout.write(`stopped ${JSON.stringify(report)}\n`);
  },
  () => process.stdout.write('draining\n'),
  (err) => process.stderr.write(`stop failed: ${String(err)}\n`),
);
