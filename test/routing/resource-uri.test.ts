import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normaliseResourceUri } from '../../routing-server/domain/resource-uri.ts';
import { RoutingError } from '../../routing-server/domain/errors.ts';

test('resource URIs are normalised', () => {
  assert.is(normaliseResourceUri('https://Storage.Azure.com/'), 'https://storage.azure.com');
  assert.is(normaliseResourceUri('https://storage.azure.com/.default'), 'https://storage.azure.com');
  assert.is(normaliseResourceUri('https://acct.blob.core.windows.net:443/'), 'https://acct.blob.core.windows.net');
  assert.is(normaliseResourceUri(' https://127.0.0.1:10000/devstoreaccount1/ '), 'https://127.0.0.1:10000/devstoreaccount1');
});

const rejected: Array<[string, RegExp]> = [
  ['', /required/],
  ['storage.azure.com', /not an absolute URI/],
  ['http://storage.azure.com', /must use https, not http/],
  ['ftp://x', /must use https/],
  ['https://user:pw@storage.azure.com', /credentials/],
  ['https://storage.azure.com/?x=1', /query/],
  ['https://storage.azure.com/#frag', /fragment/],
  ['https://' + 'a'.repeat(3000) + '.com', /longer than/],
];
for (const [input, why] of rejected) {
  test(`"${input.slice(0, 40)}" is refused saying why`, () => {
    try {
      normaliseResourceUri(input);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, RoutingError);
      assert.is((err as RoutingError).kind, 'invalid-argument');
      assert.match((err as Error).message, why);
    }
  });
}

test.run();
