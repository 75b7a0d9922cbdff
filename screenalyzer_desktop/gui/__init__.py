"""The desktop app (PySide6). Stages never run here: each run is an engine process (see process_runner)."""
