// Shared by the tests: the live server's address and the Python client's vectors for the same inputs.
// tests/test_node_client.py starts the server and sets JOBMATCH_TARGET, JOBMATCH_EXPECTED and
// JOBMATCH_NOT_READY_TARGET; without them the tests that need a server are skipped.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export const TARGET = process.env.JOBMATCH_TARGET ?? '';
export const NOT_READY_TARGET = process.env.JOBMATCH_NOT_READY_TARGET ?? '';
export const NO_SERVER = TARGET ? false : 'JOBMATCH_TARGET not set: run through tests/test_node_client.py';

/**
 * @typedef {{ name: string, model: string, side: import('../src/index.js').Side | null, inputs: string[], normalize?: boolean,
 *   truncate?: boolean, dimensions?: number, vectors: number[][] }} Case
 * @typedef {{ cases: Record<string, Case>, models: Array<Record<string, unknown>>,
 *   defaultMinScores?: Record<'job_title' | 'skills' | 'text', number>, defaultExtractMinScore?: number }} Expected
 */

/** @type {Expected} */
export const EXPECTED = process.env.JOBMATCH_EXPECTED
  ? JSON.parse(readFileSync(process.env.JOBMATCH_EXPECTED, 'utf8'))
  : { cases: {}, models: [] };

/** Options of `embed` for a case. */
export function optionsOf(/** @type {Case} */ c) {
  return {
    model: c.model,
    side: c.side ?? undefined,
    normalize: c.normalize,
    truncate: c.truncate,
    dimensions: c.dimensions,
  };
}

/**
 * Every component of every vector within `tolerance` of the expected one.
 * @param {Float32Array[]} actual
 * @param {number[][]} expected
 */
export function assertVectorsClose(actual, expected, tolerance = 1e-6) {
  assert.equal(actual.length, expected.length, 'number of vectors');
  actual.forEach((vector, row) => {
    assert.ok(vector instanceof Float32Array, `row ${row} is a Float32Array`);
    assert.equal(vector.length, expected[row].length, `length of vector ${row}`);
    for (let i = 0; i < vector.length; i += 1) {
      const diff = Math.abs(vector[i] - expected[row][i]);
      assert.ok(diff <= tolerance, `vector ${row}[${i}]: ${vector[i]} vs ${expected[row][i]} (diff ${diff})`);
    }
  });
}

/** The largest absolute difference between two vectors. */
export function maxDiff(/** @type {ArrayLike<number>} */ a, /** @type {ArrayLike<number>} */ b) {
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Await `promise` and return the JobMatchError it rejects with (fails when it resolves).
 * @param {Promise<unknown>} promise
 */
export async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return /** @type {import('../src/index.js').JobMatchError} */ (err);
  }
  assert.fail('expected the call to fail');
}
