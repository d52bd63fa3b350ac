// The usage shown in clients/README.md; type-checked by `npm test` (tsc), run by hand:
//   node --experimental-strip-types examples/usage.ts   (Node >= 22.6), or compile it with tsc.
import { Code, JobMatchClient, JobMatchError } from '@jobmatch/client';

const client = new JobMatchClient(process.env.JOBMATCH_TARGET ?? '127.0.0.1:50051', { timeoutMs: 10_000 });
// or behind a DNS name with several addresses:
// new JobMatchClient('dns:///jobmatch.internal:50051', { loadBalancing: 'round_robin' });

const titles = await client.embed(['data scientist', 'Pflegefachkraft'], { side: 'anchor' }); // Float32Array[]
const [skills] = await client.embed(['Python, SQL, statistics'], { side: 'positive', deadlineMs: 2_000 });
const score = titles[0].reduce((sum, x, i) => sum + x * skills[i], 0); // cosine: vectors are normalized
console.log('score', score);

// Options: model, normalize (default true), truncate, dimensions (matryoshka), deadlineMs, signal.
await client.embed(['nurse'], { side: 'anchor', dimensions: 16, truncate: true });

// Bidirectional stream: ids echoed, results in request order, a failed request does not end the stream.
for await (const result of client.embedStream(
  [
    { id: 'a', text: 'nurse' },
    { id: 'b', text: 'lead a team, Python', side: 'positive' },
  ],
  { side: 'anchor' },
)) {
  if (result.ok) console.log(result.id, result.vector.length);
  else console.log(result.id, result.error.reason); // e.g. EMPTY_INPUT
}

console.table(await client.listModels()); // name, dimension, asymmetric, sides, maxInputTokens, ...

try {
  await client.embed(['data scientist']); // no side: an asymmetric default model refuses
} catch (err) {
  if (err instanceof JobMatchError && err.code === Code.INVALID_ARGUMENT) {
    console.log(err.reason, err.field, err.details); // MISSING_SIDE side "model '...' is asymmetric: ..."
  }
  // err.retryDelayMs is set (RetryInfo) when retrying may help: QUEUE_FULL, NOT_READY, SHUTTING_DOWN
}

// MatchService (ESCO), once the server serves it:
// await client.matchOccupations('data scientist', { kind: 'job_title', topK: 5, iscoGroupPrefixes: ['25'] });
client.close();
