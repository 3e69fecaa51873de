/**
 * Retry-After of status answers follows the job: 1 s for a young or nearly
 * finished job, longer as a job ages, never past the maximum. A client that
 * honours it (modelled here over jobs of 1 to 30 s, with progress moving in
 * checkpoints or not at all) sees the manifest a median of at most 1.5 s after
 * the job ends; with the fixed 10 s of before, that median was about 5 s.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statusRetryAfterSeconds } from '../../fhir-server/export/facade/status-pacing.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const job = (ageS: number, exported = 0, total = 0, status: 'queued' | 'running' = 'running') => ({
  at: T0 + ageS * 1000,
  view: { status, createTime: new Date(T0).toISOString(), progress: { exported, total } },
});
const pace = (ageS: number, exported?: number, total?: number) => {
  const j = job(ageS, exported, total);
  return statusRetryAfterSeconds(j.view, j.at, 30);
};

test('never below 1 s, never above the maximum; a tenth of the age without progress', () => {
  assert.is(pace(0), 1);
  assert.is(pace(3), 1);
  assert.is(pace(40), 4);
  assert.is(pace(100), 10);
  assert.is(pace(3600), 30);
  assert.is(statusRetryAfterSeconds(job(3600).view, job(3600).at, 12), 12);
});

test('progress near the end shortens the wait to a third of the expected remaining time', () => {
  assert.is(pace(100, 95, 100), 2, '95% after 100 s: about 5 s left');
  assert.is(pace(100, 10, 100), 10, 'early progress does not lengthen the wait past a tenth of the age');
  assert.is(pace(100, 100, 100), 10, 'all counted but not completed: no estimate');
});

/** Delay between the end of a job lasting `durationS` and a client that polls at kick-off and then as told seeing it. */
function seenAfter(durationS: number, progressAt: (t: number) => number, retryAfter: (ageS: number, exported: number) => number): number {
  let t = 0;
  while (t < durationS) t += retryAfter(t, progressAt(t));
  return t - durationS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const durations = Array.from({ length: 59 }, (_, i) => 1 + i * 0.5);
const models: Record<string, (durationS: number) => (t: number) => number> = {
  'no progress until the end': () => () => 0,
  'progress at half-way checkpoints': (d) => (t) => (t >= d / 2 ? 50 : 0),
  'steady progress': (d) => (t) => Math.floor((100 * t) / d),
};

test('a client honouring Retry-After sees jobs of 1-30 s a median of at most 1.5 s after they end', () => {
  for (const [name, model] of Object.entries(models)) {
    const delays = durations.map((d) => seenAfter(d, model(d), (age, exported) => pace(age, exported, 100)));
    const fixed = durations.map((d) => seenAfter(d, model(d), () => 10));
    console.log(`  ${name}: median ${median(delays).toFixed(1)} s, worst ${Math.max(...delays).toFixed(1)} s (fixed 10 s: median ${median(fixed).toFixed(1)} s)`);
    assert.ok(median(delays) <= 1.5, `${name}: median ${median(delays)} s`);
    assert.ok(median(fixed) > 1.5, 'the model tells the fixed wait apart');
  }
});

test.run();
