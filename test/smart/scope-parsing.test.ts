/** SMART scope syntax: v1 and v2 system scopes parse to the same permissions; grants are requested ∩ registered by meaning. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grantScopes, parseScope, ScopeSet } from '../../fhir-server/http/smart/scopes.ts';

test('v1 and v2 spellings', () => {
  assert.equal([...parseScope('system/Patient.read')!.permissions].sort(), ['r', 's']);
  assert.equal([...parseScope('system/Patient.rs')!.permissions].sort(), ['r', 's']);
  assert.equal([...parseScope('system/*.write')!.permissions].sort(), ['c', 'd', 'u']);
  assert.equal([...parseScope('system/*.*')!.permissions].sort(), ['c', 'd', 'r', 's', 'u']);
  assert.is(parseScope('system/Patient.cruds')!.permissions.size, 5);
  for (const bad of ['patient/*.read', 'user/Patient.rs', 'system/Patient.sr', 'system/Patient.', 'system/Patient.rs?category=x', 'system/patient.read', 'openid', 'system/UnknownResource.read', 'system/UnknownResource.r']) {
    assert.is(parseScope(bad), undefined, bad);
  }
});

test('ScopeSet: wildcard covers every type; a type scope does not cover the wildcard', () => {
  const set = new ScopeSet(['system/Patient.read', 'system/Observation.c']);
  assert.ok(set.allows('Patient', 'r'));
  assert.not.ok(set.allows('Observation', 'r'));
  assert.not.ok(set.allows('*', 'r'));
  assert.ok(new ScopeSet(['system/*.rs']).allows('Encounter', 's'));
  assert.ok(set.any('r'));
});

test('grants: requested scopes covered by the registered ones, each once', () => {
  assert.equal(grantScopes(['system/Patient.read', 'system/Condition.rs', 'system/Patient.read'], ['system/*.read']), ['system/Patient.read', 'system/Condition.rs']);
  assert.equal(grantScopes(['system/*.read'], ['system/Patient.read']), []);
  assert.equal(grantScopes(['system/Patient.cruds'], ['system/Patient.read']), []);
  assert.equal(grantScopes(['system/Patient.r'], ['system/Patient.read']), ['system/Patient.r']);
});

test.run();
