"""Generated protobuf and gRPC stubs of the jobmatch.v1 API (see proto/ and scripts/generate_stubs.py)."""
