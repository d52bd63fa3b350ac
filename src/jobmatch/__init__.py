"""jobmatch: a gRPC embedding and job-matching service for JobBERT-style models."""

__version__ = "0.1.0"
