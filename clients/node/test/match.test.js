// MatchService (match.proto), against the server of tests/test_node_client.py, which synced the
// bundled ESCO snapshot at start-up.

import assert from 'node:assert/strict';
import test from 'node:test';

import { Code, JobMatchClient } from '../src/index.js';
import { EXPECTED, NO_SERVER, TARGET, rejection } from './helpers.js';

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

const NO_FIT_QUERY = 'qwzx vrrpk plumbovia'; // no ESCO label, no shared term

test('matchOccupations: minScore sets the threshold, noFit and each match\'s fits', { skip: SKIP }, async () => {
  const unbounded = await client.matchOccupations(NO_FIT_QUERY, { topK: 6, minScore: 0 });
  assert.equal(unbounded.noFit, false);
  assert.equal(unbounded.minScore, 0);
  assert.ok(unbounded.matches.every((m) => m.fits));
  const scores = unbounded.matches.map((m) => m.score);
  assert.ok(scores[0] > scores[5], 'the test needs distinct scores');

  // Above the best score: no occupation fits, and the matches still come, none fitting.
  const above = await client.matchOccupations(NO_FIT_QUERY, { topK: 6, minScore: scores[0] + 0.01 });
  assert.equal(above.noFit, true);
  assert.ok(Math.abs(above.minScore - (scores[0] + 0.01)) < 1e-6, `${above.minScore}`);
  assert.deepEqual(
    above.matches.map((m) => m.uri),
    unbounded.matches.map((m) => m.uri),
  );
  assert.ok(above.matches.every((m) => !m.fits));

  // Between the best and the worst: the best fits, the worst does not.
  const mixed = await client.matchOccupations(NO_FIT_QUERY, { topK: 6, minScore: (scores[0] + scores[5]) / 2 });
  assert.equal(mixed.noFit, false);
  assert.deepEqual(
    mixed.matches.map((m) => m.fits),
    mixed.matches.map((m) => m.score >= mixed.minScore),
  );
  assert.equal(mixed.matches[0].fits, true);
  assert.equal(mixed.matches[5].fits, false);

  const negative = await client.matchOccupations(NO_FIT_QUERY, { topK: 2, minScore: -1 });
  assert.deepEqual([negative.noFit, negative.minScore], [false, 0]);
});

test('matchOccupations: without minScore the kind\'s default applies', { skip: SKIP }, async () => {
  const defaults = EXPECTED.defaultMinScores;
  assert.ok(defaults, 'JOBMATCH_EXPECTED carries the server\'s default thresholds');
  for (const kind of /** @type {const} */ (['job_title', 'skills', 'text'])) {
    const result = await client.matchOccupations('data scientist', { kind, topK: 3 });
    assert.ok(Math.abs(result.minScore - defaults[kind]) < 1e-6, `${kind}: ${result.minScore}`);
    assert.equal(result.noFit, result.minScore > 0 && result.matches[0].score < result.minScore);
    assert.deepEqual(
      result.matches.map((m) => m.fits),
      result.matches.map((m) => result.minScore <= 0 || (!result.noFit && m.score >= result.minScore)),
    );
  }
});

test('matchOccupations: a NaN minScore is INVALID_ARGUMENT on min_score', { skip: SKIP }, async () => {
  const err = await rejection(client.matchOccupations('cook', { minScore: Number.NaN }));
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.equal(err.field, 'min_score');
});
