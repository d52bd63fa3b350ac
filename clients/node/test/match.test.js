// MatchService (match.proto), against the server of tests/test_node_client.py, which synced the
// bundled ESCO snapshot at start-up.

import assert from 'node:assert/strict';
import test from 'node:test';

import { JobMatchClient } from '../src/index.js';
import { NO_SERVER, TARGET } from './helpers.js';

const SKIP = NO_SERVER;

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!SKIP) client = new JobMatchClient(TARGET, { timeoutMs: 60_000 });
});
test.after(() => client?.close());

test('matchOccupations: a job title, top_k, ISCO filter', { skip: SKIP }, async () => {
  const result = await client.matchOccupations('data scientist', { kind: 'job_title', topK: 5, language: 'en' });
  assert.ok(result.matches.length > 0 && result.matches.length <= 5);
  assert.ok(result.model.length > 0);
  assert.match(result.escoVersion, /^v\d/);
  const scores = result.matches.map((m) => m.score);
  assert.deepEqual(
    scores,
    [...scores].sort((a, b) => b - a),
  );
  for (const match of result.matches) {
    assert.match(match.uri, /^http:\/\/data\.europa\.eu\/esco\/occupation\//);
    assert.match(match.iscoGroup, /^\d{4}$/);
    assert.ok(match.preferredLabel.length > 0);
  }
  const ict = await client.matchOccupations('Python, SQL, statistics', { kind: 'skills', topK: 10, iscoGroupPrefixes: ['25'] });
  assert.ok(ict.matches.every((m) => m.iscoGroup.startsWith('25')));
});

test('getOccupation returns the occupation of a match', { skip: SKIP }, async () => {
  const [first] = (await client.matchOccupations('nurse', { topK: 1 })).matches;
  const occupation = await client.getOccupation(first.uri);
  assert.equal(occupation.uri, first.uri);
  assert.equal(occupation.preferredLabel, first.preferredLabel);
});

test('matchOccupations carries descriptions only when asked', { skip: SKIP }, async () => {
  const [plain] = (await client.matchOccupations('nurse', { topK: 1 })).matches;
  const [described] = (await client.matchOccupations('nurse', { topK: 1, includeDescriptions: true })).matches;
  assert.equal(plain.description, '');
  assert.equal(described.uri, plain.uri);
  assert.equal(described.description, (await client.getOccupation(plain.uri)).description);
  assert.ok(described.description.length > 0);
});

test('matchSkills returns skills for a job title', { skip: SKIP }, async () => {
  const result = await client.matchSkills('software developer', { topK: 5 });
  assert.ok(result.matches.length > 0 && result.matches.length <= 5);
  assert.ok(result.matches.every((m) => m.label.length > 0));
});
