"""BM25 sparse vectors: lexical evidence beside the dense vectors, in each language's own terms.

Qdrant's BM25 (from ``qdrant-edge-py``, the same tokenizer, stop words and Snowball stemmer as a
Qdrant server's BM25 inference) turns a text into term ids with their weights: a document's
saturated term frequencies, a query's terms. The collection's sparse vectors carry Qdrant's IDF
modifier, so the engine weighs rare terms ("phlebotomist", "Staplerschein") above common ones
("assistant", "Mitarbeiter") from the indexed documents themselves. Both store adapters get their
sparse vectors from here, so Edge and a Qdrant server score alike.

A language Qdrant has no stemmer for gets the plain tokenizer (no stop words, no stemming).

With a language's :class:`~jobmatch.server.index.compounds.Compounds`, a text is read with the parts of
its compound words added (``Fahrzeuglackierer`` also as ``lackierer``, ``fahrzeug``), on both sides.
"""

from __future__ import annotations

import functools

import qdrant_edge as qe

from jobmatch.server.index.compounds import NO_COMPOUNDS, Compounds
from jobmatch.server.index.plan import SparseVector

__all__ = ["document_vector", "query_vector"]


@functools.cache
def _model(language: str) -> qe.Bm25:
    try:
        return qe.Bm25(qe.Bm25Config(language=language))
    except Exception:  # "unsupported language": Edge raises a plain Exception
        return qe.Bm25(qe.Bm25Config(stemmer=qe.DisabledStemmer(), stopwords=qe.StopwordsSet(custom=set())))


def _converted(vector: qe.SparseVector) -> SparseVector:
    return SparseVector(tuple(vector.indices), tuple(float(v) for v in vector.values))


def document_vector(texts: tuple[str, ...], language: str, compounds: Compounds = NO_COMPOUNDS) -> SparseVector:
    """The BM25 document vector of ``texts`` (e.g. an occupation's labels) read as one document, each
    text with the parts of its compounds."""
    return _converted(_model(language).embed_document("\n".join(compounds.expand(text) for text in texts)))


def query_vector(text: str, language: str, compounds: Compounds = NO_COMPOUNDS) -> SparseVector:
    """The BM25 query vector of ``text`` with the parts of its compounds: its distinct terms, each
    weight 1 (the engine applies IDF)."""
    return _converted(_model(language).embed_query(compounds.expand(text)))
