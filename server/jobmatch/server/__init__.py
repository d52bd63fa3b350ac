"""The jobmatch server: gRPC API, batching core, model backends, ESCO index."""

import os

# OpenMP threads that spin while they wait starve everything else on a small machine: with the
# event loop, the tokenizer and a load generator sharing 2 cores, spinning made a 128-title
# forward pass 50x slower (380 ms vs 7 ms). Passive waiting must be chosen before torch loads
# its OpenMP runtime, so it is set here, where every server import starts (the CLI imports the
# server before torch); an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
