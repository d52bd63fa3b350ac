// MatchOccupationsBatch (match.proto) against the server of tests/test_node_client.py (bundled ESCO snapshot).

import assert from 'node:assert/strict';
import test from 'node:test';

import { Code, JobMatchClient, JobMatchError } from '../src/index.js';
import { NO_SERVER, TARGET, rejection } from './helpers.js';

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!NO_SERVER) client = new JobMatchClient(TARGET, { timeoutMs: 60_000, maxInFlight: 2 });
});
test.after(() => client?.close());

const TITLES = ['data scientist', 'nurse', 'cook', 'software developer', 'baker'];

/** @type {Array<string | import('../src/index.js').MatchQuery>} */
const QUERIES = [
  ...TITLES.map((t, i) => `${t} ${i}`),
  '',
  { query: 'Python, SQL, statistics', kind: 'skills', topK: 2, minScore: 0 },
  { query: 'cook', topK: 101 },
  { query: 'nurse', iscoGroupPrefixes: ['22'], includeDescriptions: true },
  { query: 'cook', minScore: Number.NaN },
  ...TITLES.map((t) => `senior ${t}`),
];

/**
 * The scores apart (a forward pass batched with other texts differs in the last bits), and the rest.
 * @param {import('../src/index.js').MatchOccupationsResult} result
 */
function split(result) {
  return {
    scores: result.matches.map((m) => m.score),
    rest: { ...result, matches: result.matches.map((m) => ({ ...m, score: 0 })) },
  };
}

test('matchOccupationsBatch: in order, across chunks, each query answered as matchOccupations answers it', { skip: NO_SERVER }, async () => {
  const results = await client.matchOccupationsBatch(QUERIES, { topK: 3, batchSize: 4 });
  assert.deepEqual(
    results.map((r) => r.index),
    QUERIES.map((_, i) => i),
  );
  for (const [i, query] of QUERIES.entries()) {
    const one = typeof query === 'string' ? { query, topK: 3 } : query;
    const result = results[i];
    assert.equal(result.query, one.query);
    /** @type {import('../src/index.js').MatchOccupationsResult | undefined} */
    let expected;
    try {
      expected = await client.matchOccupations(one.query, one);
    } catch (err) {
      assert.ok(err instanceof JobMatchError);
      assert.ok(!result.ok, `query ${i} should fail`);
      assert.deepEqual([result.error.code, result.error.reason, result.error.details], [err.code, err.reason, err.details]);
      continue;
    }
    assert.ok(result.ok, `query ${i}: ${result.ok ? '' : result.error.message}`);
    const [got, want] = [split(result), split(expected)];
    assert.deepEqual({ ...got.rest, index: 0, query: '', ok: true }, { ...want.rest, index: 0, query: '', ok: true });
    got.scores.forEach((score, k) => assert.ok(Math.abs(score - want.scores[k]) < 1e-5, `${score} vs ${want.scores[k]}`));
  }
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(
    failed.map((r) => [r.index, r.ok ? '' : r.error.reason]),
    [
      [5, 'INVALID_QUERY'],
      [7, 'INVALID_QUERY'],
      [9, 'INVALID_QUERY'],
    ],
  );
  assert.ok(failed.every((r) => !r.ok && r.error.code === Code.INVALID_ARGUMENT && !r.error.retryable));
});

test('matchOccupationsBatch: a batch over the server limit rejects as a whole', { skip: NO_SERVER }, async () => {
  const err = await rejection(client.matchOccupationsBatch(Array(1001).fill('cook'), { batchSize: 1001 }));
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.equal(err.reason, 'TOO_MANY_INPUTS');
  assert.equal(err.field, 'queries');
  assert.deepEqual(await client.matchOccupationsBatch([]), []);
});

test('matchOccupationsBatch: bad arguments throw before any call', { skip: NO_SERVER }, async () => {
  await assert.rejects(client.matchOccupationsBatch([{ query: 'cook', kind: /** @type {any} */ ('resume') }]), RangeError);
  await assert.rejects(client.matchOccupationsBatch(/** @type {any} */ ('cook')), TypeError);
  await assert.rejects(client.matchOccupationsBatch(['cook'], { batchSize: 0 }), RangeError);
});
