"""Concurrent searches run together: one engine batch per round, as the embedding batcher does.

Each :meth:`SearchBatcher.search` queues its plan. One round runs at a time: it takes every plan
queued so far (up to ``max_batch``), grouped by collection, as one ``query_batch`` on the store's
thread, never on the event loop. Plans queued while a round runs form the next round, so a lone
call waits for nothing and many concurrent calls share one pass over the segments. A caller that
gave up (cancelled) before its round is left out of it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from jobmatch.server.index.plan import Hit, QueryPlan
from jobmatch.server.index.store import QdrantStore

__all__ = ["MAX_SEARCH_BATCH", "SearchBatcher"]

MAX_SEARCH_BATCH = 64


@dataclass(frozen=True, slots=True)
class _Search:
    collection: str
    plan: QueryPlan
    result: asyncio.Future[list[Hit]]


class SearchBatcher:
    """Batches the searches of one store."""

    def __init__(self, store: QdrantStore, *, max_batch: int = MAX_SEARCH_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queued: deque[_Search] = deque()
        self._rounds: asyncio.Task[None] | None = None

    async def search(self, collection: str, plan: QueryPlan) -> list[Hit]:
        """The hits of ``plan`` in ``collection``, run in the next round."""
        result: asyncio.Future[list[Hit]] = asyncio.get_running_loop().create_future()
        self._queued.append(_Search(collection, plan, result))
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.ensure_future(self._run_rounds())
        return await result

    async def _run_rounds(self) -> None:
        while self._queued:
            batch = [s for s in self._take() if not s.result.done()]
            for collection in dict.fromkeys(s.collection for s in batch):
                await self._run([s for s in batch if s.collection == collection])

    def _take(self) -> list[_Search]:
        count = min(len(self._queued), self.max_batch)
        return [self._queued.popleft() for _ in range(count)]

    async def _run(self, searches: list[_Search]) -> None:
        try:
            results = await self.store.query_batch(searches[0].collection, [s.plan for s in searches])
        except Exception as exc:
            for search in searches:
                if not search.result.done():
                    search.result.set_exception(exc)
            return
        for search, hits in zip(searches, results, strict=True):
            if not search.result.done():
                search.result.set_result(hits)
