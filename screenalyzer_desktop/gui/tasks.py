"""Light GUI-side work (reading state, records, tables) on the QThreadPool, results back as signals.

The worker catches everything and hands the error back as data (Picard's `thread.py` pattern), so a
failed read shows a structured error instead of vanishing in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from shiboken6 import Shiboken

from screenalyzer_desktop.core.errors import ScreenalyzerError, internal_error

log = logging.getLogger(__name__)
_in_flight: set[_TaskSignals] = set()


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(object)  # ScreenalyzerError


class _Task(QRunnable):
    def __init__(self, signals: _TaskSignals, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__()
        self._signals, self._fn, self._args = signals, fn, args

    def run(self) -> None:
        try:
            result = self._fn(*self._args)
        except ScreenalyzerError as error:
            self._signals.failed.emit(error)
        except Exception as exc:  # noqa: BLE001 - the error goes back to the GUI as data
            log.exception("background task %s failed", getattr(self._fn, "__name__", self._fn))
            self._signals.failed.emit(internal_error(exc))
        else:
            self._signals.done.emit(result)


def run_in_pool(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None],
                on_failed: Callable[[ScreenalyzerError], None], owner: QObject | None = None) -> None:
    """Run ``fn(*args)`` on the global pool; the callbacks run on the GUI thread, unless ``owner``
    (the widget they update) is gone by then."""
    signals = _TaskSignals()
    _in_flight.add(signals)

    def finish(callback: Callable[[Any], None], value: Any) -> None:
        _in_flight.discard(signals)
        if owner is None or Shiboken.isValid(owner):
            callback(value)

    signals.done.connect(lambda value: finish(on_done, value))
    signals.failed.connect(lambda error: finish(on_failed, error))
    QThreadPool.globalInstance().start(_Task(signals, fn, args))


def wait_for_pool(timeout_ms: int = 10_000) -> bool:
    """Wait until background work is over (quit, tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
