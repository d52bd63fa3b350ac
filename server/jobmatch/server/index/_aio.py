"""asyncio helpers shared by the embedders and the sync (Python 3.10 has no TaskGroup)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar, cast

__all__ = ["gather_or_cancel", "gather_pair"]

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


async def gather_or_cancel(aws: Sequence[Awaitable[T]]) -> list[T]:
    """Like :func:`asyncio.gather`, but the first failure (or a cancellation) cancels the rest."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def gather_pair(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Both results, run at once; as :func:`gather_or_cancel`, a failure of one cancels the other."""
    pair: list[Any] = await gather_or_cancel([first, second])
    one, other = pair
    return cast(A, one), cast(B, other)
