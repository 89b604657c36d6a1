"""UMAP's numba functions compiled once per machine, not once per process.

umap-learn compiles its numba functions (nearest-neighbour descent, layout epochs, membership
strengths) in every new process without caching them, and again in each placement worker at
article scale: the README atlas's layout takes ~50 s in a new process, 28 s with this cache (2-core
CPU). Turning on numba's on-disk
cache for their module-level functions (pynndescent caches only some of its own) makes later runs
load the machine code instead; the functions, and so the coordinates, are the same. Its
nearest-neighbour descent uses dynamic globals, which numba cannot cache: ~11 s of compilation a
process remain. Imports numba only, so the light placement workers can call it.
"""

from __future__ import annotations

import sys
import warnings

PACKAGES = ("umap", "pynndescent")
# what numba says when a function cannot be cached after all (it then compiles in memory, as before)
UNCACHEABLE_WARNING = r".*Cannot cache compiled function"  # a regex: numba colours the text


def cache_umap_compilation() -> int:
    """Turn on numba's disk cache for the loaded umap and pynndescent functions; how many were turned on.

    Call after ``import umap`` and before the first fit; filter :data:`UNCACHEABLE_WARNING` around
    the fit. A function numba refuses to cache keeps compiling in memory, as before; an unwritable
    package folder makes numba use its user-wide one.
    """
    try:
        from numba.core.dispatcher import Dispatcher
        from numba.core.caching import NullCache
    except ImportError:  # numba's internals moved: compile as umap does
        return 0
    turned_on = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in PACKAGES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and isinstance(value._cache, NullCache):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        value.enable_caching()
                    turned_on += 1
                except Exception:  # noqa: BLE001 - numba refuses some functions: they compile as before
                    continue
    return turned_on
