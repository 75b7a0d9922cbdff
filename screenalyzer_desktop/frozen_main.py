"""Entry point of the installed (PyInstaller) app: one program, two executables in one bundle folder.

``screenalyzer-desktop`` opens the window; ``screenalyzer`` (a console program) is the engine command
line, which the window's stage workers run (``gui.process_runner.worker_command``). The name of the
executable picks which, so both share one copy of every library. Worker processes that the detect
stage spawns (``multiprocessing``, spawn) start the same executable; ``freeze_support`` runs them.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from pathlib import Path

from screenalyzer_desktop.core.paths import CHARTS_OPTION, CLI_NAME, is_frozen


def _program_name() -> str:
    return Path(sys.executable).stem if is_frozen() else Path(sys.argv[0]).stem


def gui_main(argv: Sequence[str]) -> int:
    """The window (``screenalyzer-desktop``); or, given ``CHARTS_OPTION`` first, the chart drawer
    `screenalyzer export --format png` starts."""
    argv = list(argv)
    if argv[:1] == [CHARTS_OPTION]:
        from screenalyzer_desktop.gui.results_charts import main as draw_charts

        return draw_charts(argv[1:])
    from screenalyzer_desktop.gui.app import main as window_main

    return window_main(argv)


def cli_main(argv: Sequence[str]) -> int:
    from screenalyzer_desktop.cli import main

    return main(list(argv))


def main() -> int:
    multiprocessing.freeze_support()  # a spawned detect worker runs its task here and exits
    if _program_name() == CLI_NAME:
        return cli_main(sys.argv[1:])
    return gui_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
