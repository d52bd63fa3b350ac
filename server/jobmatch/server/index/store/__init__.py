"""Where the index lives: Qdrant Edge in a local directory (the default), or a Qdrant server.

    store = await open_store()                        # Edge in default_store_path()
    store = await open_store("/data/qdrant")          # Edge in that directory
    store = await open_store("http://qdrant:6333")    # a Qdrant server (qdrant-client)
    store = await open_store(":memory:")              # qdrant-client's in-memory stand-in (tests)

Both adapters take the same neutral types and run the same query plans (:mod:`.base`).
qdrant-client is imported only for a server: an embedded store starts without it.

Every name is loaded when first used (`lazy_loader`, from ``__init__.pyi``): the store's own process
(:mod:`.process`) imports :mod:`.edge` and :mod:`.base`, not asyncio (~7 MiB resident there).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
