"""The jobmatch server: gRPC API, batching core, model backends, ESCO index."""
