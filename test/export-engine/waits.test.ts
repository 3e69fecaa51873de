/**
 * The waits of a work item (`engine/waits.ts`), on their own: a destination call
 * without an answer is aborted at the limit; time spent waiting for a storage
 * token is not the destination's; what is waited for is reported and cleared.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DestinationTimeout, ItemWaits, TokenWaits, tokenCause, type ItemWait } from '../../fhir-server/export/engine/waits.ts';

function watched(limitMs: number, tokens = new TokenWaits()) {
  const reports: (ItemWait | undefined)[] = [];
  const waits = new ItemWaits({ destinationTimeoutMs: limitMs, reportAfterMs: 100, tokens, report: async (wait) => void reports.push(wait) });
  return { waits, reports, tokens };
}

const hang = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

test('a call without an answer is aborted at the limit; the wait is reported while it lasts', async () => {
  const { waits, reports } = watched(300);
  const started = Date.now();
  const error = await waits.call('Blob Storage', hang).then(() => undefined, (e: unknown) => e);
  assert.instance(error, DestinationTimeout);
  assert.ok(Date.now() - started >= 290, 'not before the limit');
  assert.equal(reports.map((r) => [r?.cause, r?.service]), [['Blob Storage', 'Blob Storage']]);
  assert.ok(waits.failedSince.has('Blob Storage'));
});

test('a call waiting for a storage token longer than the limit is not aborted, and gets the whole limit once the token is there', async () => {
  const { waits, reports, tokens } = watched(500);
  const answer = await waits.call('Blob Storage', async (signal) => {
    const ended = tokens.begin();
    await sleep(700); // the token takes longer than the destination's limit
    ended('token');
    await sleep(450); // then the destination answers within its limit (counted from the token)
    if (signal.aborted) throw signal.reason;
    return 'stored';
  });
  assert.is(answer, 'stored');
  assert.is(reports[0]?.cause, tokenCause, 'the wait was for the token');
  assert.is(reports.at(-1), undefined, 'cleared when the call ended');
});

test('tokens failing: since when is kept until a token comes; an aborted wait says nothing about tokens', () => {
  const tokens = new TokenWaits();
  const first = tokens.begin(1_000);
  assert.is(first('failed'), 1_000);
  const second = tokens.begin(5_000);
  assert.is(second('failed'), 1_000, 'counted from the first failure');
  tokens.begin(6_000)('aborted');
  assert.is(tokens.waitingSince(7_000), 1_000);
  tokens.begin(8_000)('token');
  assert.is(tokens.waitingSince(9_000), undefined);
});

test.run();
