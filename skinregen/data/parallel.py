"""Run independent jobs of ``check`` on every core.

The workers are processes forked from this one after it has read the book, so they inherit what it read
(``shared``) without copying it through pickles; only each job's arguments and result are pickled. Where
fork is not available (Windows, and macOS, where forking is unsafe) or there is one core, each job runs in
this process when its result is asked for, with the same result.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

_shared: Any = None


def _inherit(shared: Any) -> None:
    global _shared
    _shared = shared


def _call(job: Callable, args: tuple) -> Any:
    return job(_shared, *args)


class _Deferred:
    """A job run in this process, the first time its result is asked for."""

    def __init__(self, job: Callable, shared: Any, args: tuple):
        self._job, self._shared, self._args = job, shared, args

    def result(self) -> Any:
        if self._job is not None:
            self._value = self._job(self._shared, *self._args)
            self._job = None
        return self._value


def can_fork() -> bool:
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1


class Workers:
    """``with Workers(shared) as workers: workers.submit(job, *args).result()`` calls ``job(shared, *args)``.

    ``job`` must be a module-level function (it is sent to the workers by name).
    """

    def __init__(self, shared: Any, parallel: bool | None = None):
        self._shared = shared
        parallel = can_fork() if parallel is None else parallel
        self._pool = ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1),
                                         mp_context=multiprocessing.get_context("fork"),
                                         initializer=_inherit, initargs=(shared,)) if parallel else None

    def submit(self, job: Callable, *args: Any) -> Future | _Deferred:
        if self._pool is None:
            return _Deferred(job, self._shared, args)
        return self._pool.submit(_call, job, args)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
