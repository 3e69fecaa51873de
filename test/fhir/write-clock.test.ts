/**
 * The write clock (fhir-server/store/write-clock.ts) through the real SDK on the
 * stand-in, with two clocks standing for two writer processes: `settled(T)`
 * waits for this process's writes stamped at or before T, waits out another
 * writer's timeout while it has writes in flight, and only until it retires
 * its lease once it is idle; stamps never go below the floor asked for.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '@azure/cosmos';
import { ensureContainer } from '../../common/cosmos.ts';
import { WriteClock } from '../../fhir-server/store/write-clock.ts';
import { startCosmosFixture } from './support/cosmos.ts';
import type { CosmosFixture } from './support/cosmos.ts';

let fixture: CosmosFixture;
let system: Container;
const timing = { writeTimeoutMs: 1500, clockSkewMs: 50, idleRetireMs: 150 };

test.before(async () => {
  fixture = await startCosmosFixture();
  system = await ensureContainer(fixture.client, 'clock-test', 'system', '/pk');
});
test.after(async () => {
  await fixture?.stop();
});

const elapsed = async (work: () => Promise<void>): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

test('settled waits for local writes stamped at or before the instant, not for later ones', async () => {
  const clock = new WriteClock(undefined, timing);
  const early = await clock.begin();
  await sleep(5);
  const instant = Date.now();
  await sleep(5);
  const late = await clock.begin();
  assert.ok(late.ms > instant && early.ms <= instant);
  let settled = false;
  const waiting = clock.settled(instant).then(() => (settled = true));
  await sleep(50);
  assert.is(settled, false, 'the early write is still in flight');
  early.done();
  await waiting;
  assert.is(settled, true, 'the late write does not hold it back');
  late.done();
  const floored = await clock.begin(Date.now() + 10_000);
  assert.ok(floored.ms >= Date.now() + 9_000, 'a stamp is never below its floor');
  floored.done();
});

test("another writer's writes in flight make a reader wait out their timeout; once that writer retires its lease, nobody waits", async () => {
  const writer = new WriteClock(system, timing);
  const reader = new WriteClock(system, timing);
  const write = await writer.begin(); // still in flight: its lease cannot retire
  const waited = await elapsed(() => reader.settled(write.ms));
  assert.ok(waited >= timing.writeTimeoutMs - 50, `waited ${Math.round(waited)} ms while the other writer had a write in flight`);
  write.done();
  await sleep(timing.idleRetireMs + 300); // idle: the writer retires its lease
  const after = await elapsed(() => reader.settled(Date.now()));
  assert.ok(after < timing.writeTimeoutMs / 2, `waited ${Math.round(after)} ms for a retired writer`);
  const again = await writer.begin(); // writing again takes a new lease first
  again.done();
  const short = await elapsed(() => reader.settled(again.ms));
  assert.ok(short < timing.writeTimeoutMs, `waited ${Math.round(short)} ms: until the writer retired again, not the whole timeout`);
});

test('a writer closing down waits for its writes in flight, then retires its lease at once (a seeding process that exits holds no reader up)', async () => {
  const slowRetire = { ...timing, writeTimeoutMs: 4000, idleRetireMs: 60_000 };
  const writer = new WriteClock(system, slowRetire);
  const reader = new WriteClock(system, slowRetire);
  const write = await writer.begin();
  let closed = false;
  const closing = writer.close().then(() => (closed = true));
  await sleep(100);
  assert.is(closed, false, 'close waits for the write in flight');
  write.done();
  await closing;
  const waited = await elapsed(() => reader.settled(Date.now()));
  assert.ok(waited < slowRetire.writeTimeoutMs / 2, `waited ${Math.round(waited)} ms for a writer that closed (lease ${slowRetire.writeTimeoutMs} ms + skew otherwise)`);
  const again = await writer.begin(); // a write after close takes a new lease first
  const held = await elapsed(() => reader.settled(again.ms));
  again.done();
  assert.ok(held >= slowRetire.writeTimeoutMs - 100, `a write after close is covered again: waited ${Math.round(held)} ms`);
});

test.run();
