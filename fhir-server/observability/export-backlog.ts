/**
 * Export backlog gauges, read from the job store when scraped (one `listWork`
 * query per scrape, shared by the gauges): jobs queued and running, their work
 * items by state, how long the oldest waiting work has waited, and the oldest
 * lease heartbeat (a worker that died shows as a growing age).
 */
import type { Registry } from 'prom-client';
import { liveGauge, type LiveSample } from '../../common/metrics/live.ts';
import type { JobRecord } from '../export/engine/job-record.ts';
import type { JobStore } from '../export/engine/job-store.ts';

/** What one scrape saw. */
export interface BacklogSnapshot {
  up: boolean;
  jobs: { queued: number; running: number };
  items: { pending: number; leased: number; done: number };
  backlogAgeSeconds: number;
  heartbeatAgeSeconds: number;
}

/** Summarises the jobs `listWork` returned at `now`. */
export function backlogOf(jobs: JobRecord[], now: number): BacklogSnapshot {
  const snapshot: BacklogSnapshot = { up: true, jobs: { queued: 0, running: 0 }, items: { pending: 0, leased: 0, done: 0 }, backlogAgeSeconds: 0, heartbeatAgeSeconds: 0 };
  for (const job of jobs) {
    if (job.status !== 'queued' && job.status !== 'running') continue;
    snapshot.jobs[job.status]++;
    let waiting = job.status === 'queued';
    for (const item of job.items) {
      snapshot.items[item.status]++;
      if (item.status === 'pending') waiting = true;
      if (item.lease) snapshot.heartbeatAgeSeconds = Math.max(snapshot.heartbeatAgeSeconds, (now - item.lease.heartbeatMs) / 1000);
    }
    if (waiting) snapshot.backlogAgeSeconds = Math.max(snapshot.backlogAgeSeconds, (now - Date.parse(job.createTime)) / 1000);
  }
  return snapshot;
}

/** Registers the gauges over `jobs`; a scrape waits at most `timeoutMs` for the store. */
export function registerExportBacklog(registry: Registry, jobs: Pick<JobStore, 'listWork'>, timeoutMs = 5_000): void {
  let last: { at: number; snapshot: Promise<BacklogSnapshot> } | undefined;
  const read = (): Promise<BacklogSnapshot> => {
    const now = Date.now();
    if (last && now - last.at < 1_000) return last.snapshot;
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref());
    const snapshot = Promise.race([jobs.listWork(), timeout]).then(
      (list) => backlogOf(list, Date.now()),
      (): BacklogSnapshot => ({ ...backlogOf([], now), up: false }),
    );
    last = { at: now, snapshot };
    return snapshot;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], pick: (s: BacklogSnapshot) => LiveSample<L>[]) =>
    liveGauge(registry, { name, help, labelNames, read: async () => pick(await read()) });
  gauge('fhirmesh_fhir_export_job_store_up', 'Whether the last read of the export job store for these gauges succeeded', [], (s) => [[{}, s.up ? 1 : 0]]);
  gauge('fhirmesh_fhir_export_jobs', 'Export jobs by state (queued, running), across all instances', ['state'] as const, (s) => [
    [{ state: 'queued' }, s.jobs.queued],
    [{ state: 'running' }, s.jobs.running],
  ]);
  gauge('fhirmesh_fhir_export_work_items', 'Work items of running jobs by state (pending, leased, done)', ['state'] as const, (s) =>
    (['pending', 'leased', 'done'] as const).map((state) => [{ state }, s.items[state]]),
  );
  gauge('fhirmesh_fhir_export_backlog_age_seconds', 'Age of the oldest job that is queued or has a pending work item (0: none waits)', [], (s) => [[{}, s.backlogAgeSeconds]]);
  gauge('fhirmesh_fhir_export_heartbeat_age_seconds', 'Largest time since a leased work item last heartbeated (grows when a worker died)', [], (s) => [[{}, s.heartbeatAgeSeconds]]);
}
