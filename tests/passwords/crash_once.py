"""Loaded into a real worker with --include: the worker process dies (os._exit, no clean-up, like a
kill -9 or an out-of-memory kill) right after the first batch of a group reset commits, once per marker."""

import os
from pathlib import Path

from passwords import services


def _crash_once(job_id):
    marker = Path(os.environ["UMP_TEST_CRASH_MARKER"])
    if not marker.exists():
        marker.write_text(str(job_id))
        os._exit(1)


services._batch_committed = _crash_once
