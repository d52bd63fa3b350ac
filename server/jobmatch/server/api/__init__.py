"""The gRPC API layer: protobuf <-> engine calls, error statuses, and the servicers."""
