"""Adapters that let other frameworks use a jobmatch server (``jobmatch.integrations.langchain``)."""
