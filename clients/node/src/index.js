// @jobmatch/client: Node client for the jobmatch gRPC API (jobmatch.v1). Types: index.d.ts.

export { channelCredentials, JobMatchClient, serviceConfig } from './client.js';
export { decodeEmbedding, decodePacked } from './codec.js';
export { Code, codeName, decodeStatus, JobMatchError } from './errors.js';
