"""The trainer's progress protocol: one JSON object per line on stdout, nothing else there.

Every line has an ``event`` field. In order:

* ``start``: ``protocol`` (``shammah-lora-progress/1``), ``pid``, ``version``.
* ``phase``: ``phase`` is one of ``base`` (deriving the base checkpoint), ``load``, ``train``,
  ``merge``, ``export``, ``publish``.
* ``progress`` (once per optimizer step): ``step`` (1-based), ``total_steps``, ``epoch`` (fractional,
  e.g. 1.5), ``loss`` (mean per-token loss of the step's examples), ``learning_rate``,
  ``elapsed_seconds``, ``eta_seconds``.
* then exactly one of ``done`` (``version``, ``dir``, ``metrics``), ``cancelled`` (``reason``), or
  ``error`` (``code``, ``message``).

Exit status: 0 after ``done``, 1 after ``error``, 143 after ``cancelled`` (SIGTERM, or the parent
process died), 2 for a bad command line. Libraries that print to stdout are redirected to stderr, so
stdout carries the protocol only.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from typing import Any, TextIO

PROTOCOL = "shammah-lora-progress/1"
EXIT_CANCELLED = 143


class Cancelled(BaseException):
    """Raised in the main thread when training must stop (SIGTERM, or the parent went away).

    A ``BaseException`` so that library code catching ``Exception`` does not swallow it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Reporter:
    """Writes protocol events to the real stdout; everything printed afterwards goes to stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        if stream is None:
            # Keep a private handle on the real stdout, then point sys.stdout at stderr so stray
            # prints from libraries cannot corrupt the protocol.
            stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
            sys.stdout.flush()
            sys.stdout = sys.stderr
        self._stream = stream
        self.broken = False

    def emit(self, event: str, **fields: Any) -> None:
        """Write one event line; a closed pipe (the parent went away) is remembered, not raised."""
        if self.broken:
            return
        line = json.dumps({"event": event, **{k: _finite(v) for k, v in fields.items()}}, allow_nan=False)
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            self.broken = True


def _finite(value: Any) -> Any:
    # JSON has no NaN or Infinity; a diverged loss is reported as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class CancelWatch:
    """Turns SIGTERM/SIGINT into :class:`Cancelled` and notices when the parent process dies."""

    def __init__(self) -> None:
        self._parent = os.getppid()
        self.requested: str | None = None

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        reason = f"received {signal.Signals(signum).name}"
        if self.requested is None:
            self.requested = reason
            raise Cancelled(reason)

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested or the parent process is gone."""
        if self.requested is not None:
            raise Cancelled(self.requested)
        if os.getppid() != self._parent:
            self.requested = "the parent process exited"
            raise Cancelled(self.requested)


class StepClock:
    """Elapsed time and a simple ETA from the mean step time so far."""

    def __init__(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.started = time.monotonic()

    def progress(self, step: int) -> dict[str, float]:
        elapsed = time.monotonic() - self.started
        per_step = elapsed / max(step, 1)
        return {
            "elapsed_seconds": round(elapsed, 2),
            "eta_seconds": round(per_step * max(self.total_steps - step, 0), 2),
        }
