// Status codes surface as JobMatchError with the server's ErrorInfo reason, BadRequest field and RetryInfo.

import assert from 'node:assert/strict';
import test from 'node:test';

import { Code, JobMatchError, JobMatchClient } from '../src/index.js';
import { NOT_READY_TARGET, NO_SERVER, TARGET, rejection } from './helpers.js';

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!NO_SERVER) client = new JobMatchClient(TARGET);
});
test.after(() => client?.close());

test('no side for an asymmetric model: INVALID_ARGUMENT, MISSING_SIDE, field "side"', { skip: NO_SERVER }, async () => {
  const error = await rejection(client.embed(['data scientist'], { model: 'jobbert' }));
  assert.ok(error instanceof JobMatchError);
  assert.equal(error.code, Code.INVALID_ARGUMENT);
  assert.equal(error.codeName, 'INVALID_ARGUMENT');
  assert.equal(error.reason, 'MISSING_SIDE');
  assert.equal(error.domain, 'jobmatch.v1');
  assert.equal(error.field, 'side');
  assert.match(error.details, /asymmetric/);
  assert.equal(error.retryDelayMs, null);
  assert.equal(error.retryable, false);
});

test('unknown model: NOT_FOUND, UNKNOWN_MODEL, field "model"', { skip: NO_SERVER }, async () => {
  const error = await rejection(client.embed(['nurse'], { model: 'no-such-model', side: 'anchor' }));
  assert.equal(error.code, Code.NOT_FOUND);
  assert.equal(error.reason, 'UNKNOWN_MODEL');
  assert.equal(error.field, 'model');
});

test('input over the token limit: INVALID_ARGUMENT, INPUT_TOO_LONG, field inputs[N]', { skip: NO_SERVER }, async () => {
  const long = 'manage budgets and lead a team, '.repeat(40);
  const error = await rejection(client.embed(['nurse', 'cook', long], { model: 'jobbert', side: 'positive' }));
  assert.equal(error.code, Code.INVALID_ARGUMENT);
  assert.equal(error.reason, 'INPUT_TOO_LONG');
  assert.equal(error.field, 'inputs[2]');
  assert.deepEqual(
    error.fieldViolations.map((v) => v.field),
    ['inputs[2]'],
  );
  assert.match(error.details, /tokens/);
});

test('INPUT_TOO_LONG in a later chunk names its index in the whole list', { skip: NO_SERVER }, async () => {
  const chunked = new JobMatchClient(TARGET, { chunkSize: 4 });
  try {
    const texts = Array.from({ length: 10 }, (_, i) => `title ${i}`);
    texts[9] = 'lead a team, '.repeat(60);
    const error = await rejection(chunked.embed(texts, { model: 'jobbert', side: 'anchor' }));
    assert.equal(error.reason, 'INPUT_TOO_LONG');
    assert.equal(error.field, 'inputs[9]');
  } finally {
    chunked.close();
  }
});

test('empty list and empty input: INVALID_ARGUMENT, EMPTY_INPUT', { skip: NO_SERVER }, async () => {
  const none = await rejection(client.embed([], { model: 'jobbert', side: 'anchor' }));
  assert.equal(none.reason, 'EMPTY_INPUT');
  assert.equal(none.field, 'inputs');
  const blank = await rejection(client.embed(['nurse', ' '], { model: 'jobbert', side: 'anchor' }));
  assert.equal(blank.reason, 'EMPTY_INPUT');
  assert.equal(blank.field, 'inputs[1]');
});

test('dimensions over the model: INVALID_ARGUMENT, field "dimensions"', { skip: NO_SERVER }, async () => {
  const error = await rejection(client.embed(['nurse'], { model: 'jobbert', side: 'anchor', dimensions: 100_000 }));
  assert.equal(error.code, Code.INVALID_ARGUMENT);
  assert.equal(error.reason, 'INVALID_ARGUMENT');
  assert.equal(error.field, 'dimensions');
});

test('a deadline that expires: DEADLINE_EXCEEDED', { skip: NO_SERVER }, async () => {
  await client.waitForReady(10_000);
  const texts = Array.from({ length: 2000 }, (_, i) => `senior data scientist ${i}`);
  const error = await rejection(client.embed(texts, { model: 'jobbert', side: 'anchor', deadlineMs: 1 }));
  assert.equal(error.code, Code.DEADLINE_EXCEEDED);
  assert.equal(error.codeName, 'DEADLINE_EXCEEDED');
  // The server drops expired work; the next call is served.
  const [vector] = await client.embed(['nurse'], { model: 'jobbert', side: 'anchor', deadlineMs: 30_000 });
  assert.ok(vector.length > 0);
});

test('a deadline on a stream: DEADLINE_EXCEEDED', { skip: NO_SERVER }, async () => {
  async function* slow() {
    yield 'nurse';
    await new Promise((resolve) => setTimeout(resolve, 10_000).unref()); // never resumed: the deadline ends the call
    yield 'cook';
  }
  /** @type {string[]} */
  const seen = [];
  const error = await rejection(
    (async () => {
      for await (const result of client.embedStream(slow(), { model: 'jobbert', side: 'anchor', deadlineMs: 1_000 })) {
        seen.push(result.id);
      }
    })(),
  );
  assert.equal(error.code, Code.DEADLINE_EXCEEDED);
  assert.deepEqual(seen, ['0']);
});

test('an aborted signal cancels the call: CANCELLED', { skip: NO_SERVER }, async () => {
  const controller = new AbortController();
  controller.abort();
  const error = await rejection(client.embed(['nurse'], { model: 'jobbert', side: 'anchor', signal: controller.signal }));
  assert.equal(error.code, Code.CANCELLED);
});

test('models still loading: UNAVAILABLE, NOT_READY, retry delay from RetryInfo', { skip: NO_SERVER }, async (t) => {
  if (!NOT_READY_TARGET) return t.skip('JOBMATCH_NOT_READY_TARGET not set');
  const loading = new JobMatchClient(NOT_READY_TARGET, { maxAttempts: 1 });
  try {
    const error = await rejection(loading.embed(['nurse'], { side: 'anchor' }));
    assert.equal(error.code, Code.UNAVAILABLE);
    assert.equal(error.reason, 'NOT_READY');
    assert.equal(error.retryDelayMs, 1000);
    assert.equal(error.retryable, true);
    assert.equal(error.field, null);
  } finally {
    loading.close();
  }
});

test('a side the client does not know: RangeError before any call', async () => {
  const offline = new JobMatchClient('127.0.0.1:1', { maxAttempts: 1 });
  try {
    // @ts-expect-error: 'query' is not a Side
    await assert.rejects(offline.embed(['x'], { side: 'query' }), RangeError);
    const stream = offline.embedStream(['x'], { side: /** @type {any} */ ('query') });
    await assert.rejects(stream.next(), RangeError);
    // @ts-expect-error: one string is not a list of texts
    await assert.rejects(offline.embed('data scientist'), TypeError);
    await assert.rejects(offline.embedStream('data scientist').next(), TypeError);
  } finally {
    offline.close();
  }
});
