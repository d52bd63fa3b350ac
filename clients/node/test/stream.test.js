// EmbedStream against a live server: ids echoed, request order, per-request errors, backpressure.

import assert from 'node:assert/strict';
import test from 'node:test';

import { Code, JobMatchClient } from '../src/index.js';
import { EXPECTED, NO_SERVER, TARGET, assertVectorsClose } from './helpers.js';

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!NO_SERVER) client = new JobMatchClient(TARGET);
});
test.after(() => client?.close());

/** @param {AsyncIterable<any>} results */
async function collect(results) {
  const out = [];
  for await (const result of results) out.push(result);
  return out;
}

test('both sides interleaved: ids echoed in request order, vectors equal Embed', { skip: NO_SERVER }, async () => {
  const { anchor, positive } = EXPECTED.cases;
  const items = anchor.inputs.flatMap((text, i) => [
    { id: `anchor-${i}`, text, side: /** @type {const} */ ('anchor') },
    { id: `positive-${i}`, text, side: /** @type {const} */ ('positive') },
  ]);
  const results = await collect(client.embedStream(items, { model: anchor.model }));
  assert.deepEqual(
    results.map((r) => r.id),
    items.map((item) => item.id),
  );
  results.forEach((result, i) => {
    assert.ok(result.ok, `request ${result.id} succeeded`);
    const expected = (i % 2 === 0 ? anchor : positive).vectors[Math.floor(i / 2)];
    assertVectorsClose([result.vector], [expected]);
    assert.equal(result.dimension, expected.length);
    assert.equal(result.model, anchor.model);
  });
});

test('default ids are the item indexes; strings use the stream options', { skip: NO_SERVER }, async () => {
  const c = EXPECTED.cases.anchor;
  const results = await collect(client.embedStream(c.inputs, { model: c.model, side: 'anchor' }));
  assert.deepEqual(
    results.map((r) => r.id),
    c.inputs.map((_, i) => String(i)),
  );
  assertVectorsClose(
    results.map((r) => (r.ok ? r.vector : new Float32Array())),
    c.vectors,
  );
});

test('a failing request gets an error result and the stream goes on', { skip: NO_SERVER }, async () => {
  const results = await collect(
    client.embedStream(
      [
        { id: 'first', text: 'nurse', side: 'anchor' },
        { id: 'empty', text: '   ', side: 'anchor' },
        { id: 'no-side', text: 'nurse' },
        { id: 'unknown-model', text: 'nurse', side: 'anchor', model: 'no-such-model' },
        { id: 'last', text: 'cook', side: 'anchor' },
      ],
      { model: 'jobbert' },
    ),
  );
  assert.deepEqual(
    results.map((r) => [r.id, r.ok]),
    [
      ['first', true],
      ['empty', false],
      ['no-side', false],
      ['unknown-model', false],
      ['last', true],
    ],
  );
  const errors = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.id, r.ok ? null : r.error]));
  assert.equal(errors.empty?.code, Code.INVALID_ARGUMENT);
  assert.equal(errors.empty?.reason, 'EMPTY_INPUT');
  assert.equal(errors['no-side']?.reason, 'MISSING_SIDE');
  assert.equal(errors['unknown-model']?.code, Code.NOT_FOUND);
  assert.equal(errors['unknown-model']?.reason, 'UNKNOWN_MODEL');
  assert.equal(errors.empty?.retryDelayMs, null);
});

test('many more requests than the server window, from an async source, stay in order', { skip: NO_SERVER }, async () => {
  const count = 400;
  async function* titles() {
    for (let i = 0; i < count; i += 1) {
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield { id: `t${i}`, inputs: [`title ${i}`, `skill ${i}`] };
    }
  }
  let seen = 0;
  for await (const result of client.embedStream(titles(), { model: 'jobbert', side: 'anchor' })) {
    assert.equal(result.id, `t${seen}`);
    assert.ok(result.ok && result.vectors.length === 2);
    seen += 1;
  }
  assert.equal(seen, count);
});

test('breaking out of the loop cancels the stream; the client stays usable', { skip: NO_SERVER }, async () => {
  function* endless() {
    for (let i = 0; ; i += 1) yield `title ${i}`;
  }
  let seen = 0;
  for await (const result of client.embedStream(endless(), { model: 'jobbert', side: 'anchor' })) {
    assert.ok(result.ok);
    seen += 1;
    if (seen === 20) break;
  }
  assert.equal(seen, 20);
  const [vector] = await client.embed(['nurse'], { model: 'jobbert', side: 'anchor' });
  assert.equal(vector.length, EXPECTED.cases.anchor.vectors[0].length);
});

test('an error thrown by the source ends the stream with that error', { skip: NO_SERVER }, async () => {
  function* failing() {
    yield 'nurse';
    throw new Error('source broke');
  }
  await assert.rejects(collect(client.embedStream(failing(), { model: 'jobbert', side: 'anchor' })), /source broke/);
});
