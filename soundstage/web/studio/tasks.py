"""Long studio steps (write a level, compose a score) run off the request, with progress.

A page posts the step; the server answers at once with the task's page, which polls
`/tasks/{id}.json` (or refreshes itself without JavaScript) and moves on to the result
when the task is done. Tasks run one at a time in one thread: they share one model, whose
calls the OpenAI-compatible routes serialise with the same lock.

Tasks live in this process's memory (the last 500): a restart forgets running ones,
which the page then reports as unknown. The durable queue (`soundstage jobs`) is for batch
work in separate workers; a studio step needs the model this server already holds.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from soundstage.errors import SoundstageError

__all__ = ["Progress", "Task", "Tasks"]

Progress = Callable[[float, str], None]
State = Literal["queued", "running", "done", "failed"]
KEEP = 500


@dataclass
class Task:
    id: str
    owner: str
    label: str
    done_url: str
    state: State = "queued"
    progress: float = 0.0
    message: str = ""
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "state": self.state,
            "progress": round(self.progress, 3),
            "message": self.message,
            "error": self.error,
            "done_url": self.done_url,
        }


class Tasks:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-task")
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._lock = threading.Lock()

    def submit(
        self, owner: str, label: str, done_url: str, work: Callable[[Progress], str | None]
    ) -> Task:
        """Run `work(progress)` in the task thread; it may return a better done_url."""
        task = Task(secrets.token_hex(8), owner, label, done_url)
        with self._lock:
            self._tasks[task.id] = task
            while len(self._tasks) > KEEP:
                self._tasks.popitem(last=False)
        self._pool.submit(self._run, task, work)
        return task

    def get(self, task_id: str, owner: str) -> Task | None:
        """The task, when `owner` started it."""
        with self._lock:
            task = self._tasks.get(task_id)
        return task if task is not None and task.owner == owner else None

    def _run(self, task: Task, work: Callable[[Progress], str | None]) -> None:
        def progress(done: float, message: str) -> None:
            task.progress = min(1.0, max(task.progress, done))
            task.message = message

        task.state = "running"
        try:
            url = work(progress)
        except SoundstageError as exc:
            task.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            task.state = "failed"
        except Exception as exc:  # noqa: BLE001 - shown on the task page, not a crash
            task.error = f"{type(exc).__name__}: {exc}"
            task.state = "failed"
        else:
            task.done_url = url or task.done_url
            task.progress, task.state = 1.0, "done"
        task.finished = time.time()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
