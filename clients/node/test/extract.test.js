// ExtractSkills (match.proto) against the server of tests/test_node_client.py (bundled ESCO snapshot; a tiny
// random model, so only skills named with their exact ESCO label are found).

import assert from 'node:assert/strict';
import test from 'node:test';

import { Code, JobMatchClient } from '../src/index.js';
import { EXPECTED, NO_SERVER, TARGET, rejection } from './helpers.js';

/** @type {JobMatchClient} */
let client;
test.before(() => {
  if (!NO_SERVER) client = new JobMatchClient(TARGET, { timeoutMs: 60_000 });
});
test.after(() => client?.close());

const DATA_SCIENTIST = 'http://data.europa.eu/esco/occupation/258e46f9-0075-4a2e-adae-1ff0477e0f30';
const SHOWN = ['statistics', 'data mining', 'query languages'];
const CV = `Analyst, 5 years.\nSkills: ${SHOWN[0]}, ${SHOWN[1]} and ${SHOWN[2]}.`;

test('extractSkills: skills best first, with evidence spans into the text', { skip: NO_SERVER }, async () => {
  const result = await client.extractSkills(CV, { minScore: 0, topK: 10 });
  assert.equal(result.minScore, 0);
  assert.equal(result.gap, null);
  assert.match(result.escoVersion, /^v\d/);
  assert.equal(result.skills.length, 10);
  const scores = result.skills.map((s) => s.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  for (const skill of result.skills) {
    assert.match(skill.uri, /^http:\/\/data\.europa\.eu\/esco\/skill\//);
    assert.equal(skill.relation, '');
    assert.ok(skill.evidence.length > 0);
    for (const e of skill.evidence) assert.equal(CV.slice(e.start, e.end), e.text); // ASCII: code points = units
  }
  const defaults = await client.extractSkills(CV);
  const expected = EXPECTED.defaultExtractMinScore;
  assert.ok(expected, "JOBMATCH_EXPECTED carries the server's default threshold");
  assert.ok(Math.abs(defaults.minScore - expected) < 1e-6, `${defaults.minScore}`); // echoed
  assert.ok(defaults.skills.length <= 20);
});

test('extractSkills: the skill gap to an occupation', { skip: NO_SERVER }, async () => {
  // The tiny model's random weights score a label named verbatim ~0.86-0.91.
  const { gap, skills } = await client.extractSkills(CV, { occupationUri: DATA_SCIENTIST, minScore: 0.8 });
  assert.ok(gap);
  assert.equal(gap.occupationUri, DATA_SCIENTIST);
  assert.equal(gap.occupationLabel, 'data scientist');
  const shown = gap.shown.map((s) => s.label);
  for (const label of SHOWN) assert.ok(shown.includes(label), `${label} is shown`);
  assert.ok(gap.missing.length > 0 && gap.missing.every((s) => !shown.includes(s.label)));
  assert.ok(Math.abs(gap.coverage - shown.length / (shown.length + gap.missing.length)) < 1e-6);
  assert.ok(gap.shown.every((s) => s.relation === 'essential' && s.score >= 0.8 && s.evidence.length > 0));
  assert.ok(skills.filter((s) => SHOWN.includes(s.label)).every((s) => s.relation === 'essential'));
});

test('extractSkills: bad input is INVALID_ARGUMENT, an unknown occupation NOT_FOUND', { skip: NO_SERVER }, async () => {
  const empty = await rejection(client.extractSkills('   '));
  assert.deepEqual([empty.code, empty.reason, empty.field], [Code.INVALID_ARGUMENT, 'INVALID_QUERY', 'text']);
  const topK = await rejection(client.extractSkills(CV, { topK: 101 }));
  assert.deepEqual([topK.code, topK.field], [Code.INVALID_ARGUMENT, 'top_k']);
  const nan = await rejection(client.extractSkills(CV, { minScore: Number.NaN }));
  assert.deepEqual([nan.code, nan.field], [Code.INVALID_ARGUMENT, 'min_score']);
  const unknown = await rejection(client.extractSkills(CV, { occupationUri: `${DATA_SCIENTIST}x` }));
  assert.deepEqual([unknown.code, unknown.reason], [Code.NOT_FOUND, 'OCCUPATION_NOT_FOUND']);
});
