"""Slow work (a layer's top-image pass, a visualization) run in the background, one at a time.

A job is keyed by what it computes, so two pages asking for the same thing share one run; its
progress and result are read by whoever waits for it. The live view never waits on this queue.
"""

from __future__ import annotations

import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


@dataclass
class Job:
    """One background computation: its progress (done of total), result or error."""

    key: Hashable
    label: str
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    future: Future | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.future is not None and self.future.done()

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    def status(self) -> dict:
        return {"label": self.label, "done": self.done, "total": self.total,
                "finished": self.finished, "error": self.error}


class JobQueue:
    """A single background worker and the jobs it has run or queued, by key."""

    def __init__(self, workers: int = 1):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="toolbox-job")
        self._jobs: dict[Hashable, Job] = {}
        self._lock = threading.Lock()

    def submit(self, key: Hashable, label: str, fn: Callable[[Callable[[int, int], None]], Any]) -> Job:
        """The job for ``key``: the existing one unless it failed, else ``fn(progress)`` queued."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.error is None:
                return job
            job = Job(key, label)

            def run():
                try:
                    job.result = fn(job.progress)
                except Exception as exc:  # reported to the page, the server keeps serving
                    job.error = f"{exc.__class__.__name__}: {exc}"
                    traceback.print_exc()
                return job.result

            job.future = self._pool.submit(run)
            self._jobs[key] = job
            return job

    def get(self, key: Hashable) -> Job | None:
        return self._jobs.get(key)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
