"""The server's one model worker behind a bounded queue: a full queue is refused at once (503)
instead of piling requests up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """The work queue is full."""


class WorkQueue:
    """One model worker, at most `size` requests waiting for it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._worker = threading.Lock()
        self._count = threading.Lock()
        self.waiting = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._count:
            if self.waiting >= self.size:
                raise Busy
            self.waiting += 1
        try:
            with self._worker:
                yield
        finally:
            with self._count:
                self.waiting -= 1
