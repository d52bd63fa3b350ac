// Embed and ListModels against a live server: vectors equal the Python client's for the same inputs.

import assert from 'node:assert/strict';
import test from 'node:test';

import { JobMatchClient } from '../src/index.js';
import { EXPECTED, NO_SERVER, TARGET, assertVectorsClose, maxDiff, optionsOf } from './helpers.js';

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!NO_SERVER) client = new JobMatchClient(TARGET, { timeoutMs: 60_000 });
});
test.after(() => client?.close());

const cases = EXPECTED.cases;

test('anchor side: vectors equal the Python client', { skip: NO_SERVER }, async () => {
  const c = cases.anchor;
  assertVectorsClose(await client.embed(c.inputs, optionsOf(c)), c.vectors);
});

test('positive side: vectors equal the Python client and differ from anchor', { skip: NO_SERVER }, async () => {
  const c = cases.positive;
  const vectors = await client.embed(c.inputs, optionsOf(c));
  assertVectorsClose(vectors, c.vectors);
  assert.deepEqual(c.inputs, cases.anchor.inputs);
  vectors.forEach((vector, i) => assert.ok(maxDiff(vector, cases.anchor.vectors[i]) > 1e-3, `heads differ on ${i}`));
});

test('side names: SIDE_* enum names and numbers select the same heads', { skip: NO_SERVER }, async () => {
  const c = cases.positive;
  assertVectorsClose(await client.embed(c.inputs, { model: c.model, side: 'SIDE_POSITIVE' }), c.vectors);
  assertVectorsClose(await client.embed(c.inputs, { model: c.model, side: 2 }), c.vectors);
});

test('symmetric model: any side or none gives the same vectors', { skip: NO_SERVER }, async () => {
  const c = cases.symmetric;
  assert.equal(c.side, null);
  for (const side of /** @type {const} */ ([undefined, 'anchor', 'positive'])) {
    assertVectorsClose(await client.embed(c.inputs, { model: c.model, side }), c.vectors);
  }
});

test('dimensions and normalize=false match the Python client', { skip: NO_SERVER }, async () => {
  const c = cases.options;
  const vectors = await client.embed(c.inputs, optionsOf(c));
  assert.equal(vectors[0].length, c.dimensions);
  assertVectorsClose(vectors, c.vectors);
  const norm = Math.hypot(...vectors[0]);
  assert.ok(Math.abs(norm - 1) > 1e-3, `not normalized (norm ${norm})`);
  const normalized = await client.embed(c.inputs, { ...optionsOf(c), normalize: true });
  assert.ok(Math.abs(Math.hypot(...normalized[0]) - 1) < 1e-5);
});

test('truncate cuts an input over the token limit', { skip: NO_SERVER }, async () => {
  const c = cases.truncated;
  assert.equal(c.truncate, true);
  assertVectorsClose(await client.embed(c.inputs, optionsOf(c)), c.vectors);
});

test('a long list goes out in chunks, in order', { skip: NO_SERVER }, async () => {
  const c = cases.many;
  const chunked = new JobMatchClient(TARGET, { chunkSize: 64, maxInFlight: 3 });
  try {
    assertVectorsClose(await chunked.embed(c.inputs, optionsOf(c)), c.vectors, 1e-5);
  } finally {
    chunked.close();
  }
});

test('embedWithMetadata: resolved default model, dimension, costs', { skip: NO_SERVER }, async () => {
  const c = cases.anchor;
  const result = await client.embedWithMetadata(c.inputs.slice(0, 2), { side: 'anchor' });
  const defaultModel = EXPECTED.models.find((m) => m.is_default);
  assert.equal(result.model, defaultModel?.name);
  assert.equal(result.dimension, c.vectors[0].length);
  assertVectorsClose(result.vectors, c.vectors.slice(0, 2));
  assert.ok(result.metadata.promptTokens > 0);
  assert.ok(result.metadata.totalTimeNs >= result.metadata.inferenceTimeNs);
});

test('listModels equals the Python client', { skip: NO_SERVER }, async () => {
  const models = await client.listModels();
  assert.deepEqual(
    models,
    EXPECTED.models.map((m) => ({
      name: m.name,
      source: m.source,
      dimension: m.dimension,
      asymmetric: m.asymmetric,
      sides: m.sides,
      maxInputTokens: m.max_input_tokens,
      device: m.device,
      dtype: m.dtype,
      isDefault: m.is_default,
      backend: m.backend,
    })),
  );
});

test('dns:/// target with round_robin load balancing', { skip: NO_SERVER }, async () => {
  const balanced = new JobMatchClient(`dns:///${TARGET}`, { loadBalancing: 'round_robin' });
  try {
    await balanced.waitForReady(10_000);
    const c = cases.anchor;
    assertVectorsClose(await balanced.embed(c.inputs, optionsOf(c)), c.vectors);
  } finally {
    balanced.close();
  }
});
