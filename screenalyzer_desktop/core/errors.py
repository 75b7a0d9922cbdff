"""The one catalogue of structured errors.

Every failure the user can see is a :class:`ScreenalyzerError` with a stable code from
:data:`CATALOGUE`, a sentence for a person, the detail for a developer and a hint of what to do.
A failed prerequisite is carried as a structured ``cause`` (stage, code, detail), never as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorSpec:
    message: str
    hint: str
    exit_code: int


# Exit codes by failure class: 2 configuration, 3 input video, 4 models, 5 workspace/disk,
# 6 busy, 7 prerequisite, 8 missing artifacts, 130 cancelled, 1 internal.
CATALOGUE: dict[str, ErrorSpec] = {
    "ERR_VIDEO_NOT_FOUND": ErrorSpec(
        "The video file could not be found.",
        "Check that the file still exists and the drive is connected, then import it again.", 3),
    "ERR_VIDEO_UNREADABLE": ErrorSpec(
        "The file could not be read as a video.",
        "Make sure the file is a complete video (not a partial download) and try again.", 3),
    "ERR_VIDEO_UNSUPPORTED": ErrorSpec(
        "This video format or stream is not supported.",
        "Convert the file to H.264 MP4 (or another common format) and import the copy.", 3),
    "ERR_NO_FRAMES": ErrorSpec(
        "The video contains no decodable frames.",
        "The file may hold audio only or be truncated; export the episode again.", 3),
    "ERR_VIDEO_CHANGED": ErrorSpec(
        "The video file changed since it was imported.",
        "Re-import the episode so that its analysis matches the file on disk.", 3),
    "ERR_MODEL_MISSING": ErrorSpec(
        "A face model needed by the selected engine is missing.",
        "Import a model pack in Preferences (or with `screenalyzer models import`), "
        "or choose the dlib engine, which works offline.", 4),
    "ERR_MODEL_INVALID": ErrorSpec(
        "A face model file is damaged or of the wrong kind.",
        "Import the model pack again from its original zip.", 4),
    "ERR_EMBEDDINGS_MISSING": ErrorSpec(
        "Face embeddings for this episode are missing or incomplete.",
        "Run the detect & embed stage again.", 8),
    "ERR_DETECTIONS_MISSING": ErrorSpec(
        "Face detections for this episode are missing or incomplete.",
        "Run the detect & embed stage again.", 8),
    "ERR_TRACKS_MISSING": ErrorSpec(
        "Face tracks for this episode are missing or incomplete.",
        "Run the track stage again.", 8),
    "ERR_CLUSTERS_MISSING": ErrorSpec(
        "People (clusters) for this episode are missing or incomplete.",
        "Run the cluster stage again.", 8),
    "ERR_SCREENTIME_MISSING": ErrorSpec(
        "Screen-time results for this episode are missing.",
        "Run the screen-time stage again.", 8),
    "ERR_ARTIFACT_CORRUPT": ErrorSpec(
        "A saved analysis file is damaged.",
        "Re-run the stage that produced it; the other results are kept.", 8),
    "ERR_EPISODE_NOT_FOUND": ErrorSpec(
        "No such episode in the workspace.",
        "Run `screenalyzer status` to list episodes, or import the video first.", 8),
    "ERR_STAGE_UNKNOWN": ErrorSpec(
        "No such pipeline stage.",
        "Use one of: ingest, detect_embed, track, cluster, screentime.", 2),
    "ERR_PREREQ_FAILED": ErrorSpec(
        "A stage this one depends on failed.",
        "See the cause below, fix it, then run again.", 7),
    "ERR_USAGE": ErrorSpec(
        "The command line is not valid.",
        "Run `screenalyzer --help` (or `screenalyzer COMMAND --help`) for the accepted arguments.", 2),
    "ERR_CONFIG_INVALID": ErrorSpec(
        "A setting has an invalid value.",
        "Correct the value named in the detail, or reset it to its default.", 2),
    "ERR_CAST_INVALID": ErrorSpec(
        "The cast folder could not be used.",
        "Give a folder with one sub-folder per person, each holding photos of that person.", 2),
    "ERR_LABEL_INVALID": ErrorSpec(
        "That change to the people of this episode is not possible.",
        "Reload the episode; the person or track may have changed since the view was drawn.", 2),
    "ERR_WORKSPACE_UNWRITABLE": ErrorSpec(
        "The workspace folder cannot be written.",
        "Choose a workspace folder you can write to in Preferences, or fix its permissions.", 5),
    "ERR_DISK_FULL": ErrorSpec(
        "The disk holding the workspace is full.",
        "Free some space or move the workspace to a larger drive, then run again.", 5),
    "ERR_EPISODE_BUSY": ErrorSpec(
        "This episode is already being analysed by another run.",
        "Wait for that run to finish or cancel it, then try again.", 6),
    "ERR_CANCELLED": ErrorSpec(
        "The run was cancelled.",
        "Run the stage again to resume; finished stages are kept.", 130),
    "ERR_INTERNAL": ErrorSpec(
        "An unexpected internal error occurred.",
        "Send the log file (Help ▸ Show logs) to support.", 1),
}


@dataclass(frozen=True)
class ErrorCause:
    """The structured cause of ERR_PREREQ_FAILED: which stage failed, and its own error."""

    stage: str
    code: str
    message: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "code": self.code, "message": self.message, "detail": self.detail}


@dataclass
class ScreenalyzerError(Exception):
    code: str
    detail: str = ""
    message: str = ""
    hint: str = ""
    cause: ErrorCause | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = CATALOGUE.get(self.code)
        if spec is None:
            raise ValueError(f"error code {self.code!r} is not in the catalogue")
        self.message = self.message or spec.message
        self.hint = self.hint or spec.hint
        super().__init__(f"{self.code}: {self.message} ({self.detail})")

    @property
    def exit_code(self) -> int:
        return CATALOGUE[self.code].exit_code

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "detail": self.detail,
                               "hint": self.hint}
        if self.cause is not None:
            out["cause"] = self.cause.to_dict()
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenalyzerError:
        cause = data.get("cause")
        return cls(code=data["code"], detail=data.get("detail", ""), message=data.get("message", ""),
                   hint=data.get("hint", ""), cause=ErrorCause(**cause) if cause else None,
                   extra=data.get("extra") or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __hash__(self) -> int:
        return id(self)


def prereq_failed(stage: str, failed_stage: str, error: ScreenalyzerError) -> ScreenalyzerError:
    """Wrap the error of an auto-run prerequisite, keeping its code as a structured cause."""
    cause = ErrorCause(stage=failed_stage, code=error.code, message=error.message, detail=error.detail)
    return ScreenalyzerError("ERR_PREREQ_FAILED", detail=f"{stage} needs {failed_stage}, which failed",
                             cause=cause)


def internal_error(exc: BaseException) -> ScreenalyzerError:
    """Turn an unexpected exception into data, keeping its type and text for the developer."""
    import traceback

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ScreenalyzerError("ERR_INTERNAL", detail=f"{type(exc).__name__}: {exc}\n{tb}")
