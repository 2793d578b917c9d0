"""The instance context: per-instance shared state is made once, even under threads."""

from __future__ import annotations

import threading
import time

from planfuse.context import build_context
from planfuse.settings import load_settings


def test_shared_state_is_made_once_when_threads_ask_together(sqlite_url):
    ctx = build_context(load_settings({"database_url": sqlite_url}, environ={}))
    made = []

    def factory():
        made.append(1)
        time.sleep(0.05)  # a slow constructor: every thread arrives before it returns
        return object()

    start = threading.Barrier(8)
    seen = []

    def ask():
        start.wait()
        seen.append(ctx.shared("thing", factory))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len({id(v) for v in seen}) == 1 and ctx.extras["thing"] is seen[0]
    ctx.close()
