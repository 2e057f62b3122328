"""Loading code without the garbage collector walking it: the console's modules, its service.

Importing modules (Textual's, SQLAlchemy's) and building the service make a great many objects
that live as long as the process, and next to no garbage. Each collection walks every object
made so far: while the console starts they cost a quarter of its imports and a full collection
in the middle of its first frame, and after the service has loaded a full collection walks all
of SQLAlchemy again (~0.1 s, inside whatever key was pressed then). So the collector waits while
such code loads; then what loaded is frozen (gc.freeze: never walked again) and it resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """No collection while the block runs; after it (even when it fails) what it left is frozen
    and the collector runs again. Inside another such block (the collector off already) it
    changes nothing: the outer one resumes collection."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


__all__ = ["loading"]
