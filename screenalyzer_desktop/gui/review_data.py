"""What the Review tab shows, computed off the GUI thread from the labels and the episode's faces:
one row per person (screen time recomputed through `review.people_table`), the review queue and
the unassigned tracks with the people they look like. No widgets here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from screenalyzer_desktop import review
from screenalyzer_desktop.labels import Labels

if TYPE_CHECKING:
    from screenalyzer_desktop.core.config import Config
    from screenalyzer_desktop.review import EpisodeFaces, Suggestion


@dataclass(frozen=True)
class PersonRow:
    key: str
    name: str
    named_by: str
    hidden: bool
    tracks: int
    screen_time_s: float
    share: float
    faces: tuple[int, ...]  # det ids of their best faces, best first
    nearest: Suggestion | None  # for an unnamed person: the named person they look most like

    @property
    def unnamed(self) -> bool:
        return self.named_by == ""

    @property
    def to_confirm(self) -> bool:
        return self.named_by == "cast"


@dataclass(frozen=True)
class TrackRow:
    track: int
    start_s: float
    end_s: float
    detections: int
    similarity: float  # to the person's prototype; NaN when unknown (or unassigned)
    best_det: int
    nearest: tuple[Suggestion, ...]  # other people this track looks like, best first


@dataclass(frozen=True)
class ReviewData:
    labels: Labels
    people: list[PersonRow]
    unassigned: list[TrackRow]
    track_count: int

    def row(self, key: str) -> PersonRow | None:
        return next((r for r in self.people if r.key == key), None)


def clock(seconds: float) -> str:
    """Screen time as m:ss (h:mm:ss past an hour)."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def clock_tenths(seconds: float) -> str:
    """A moment in the episode as mm:ss.f."""
    tenths = max(0, int(round(seconds * 10)))
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"


def build_review_data(labels: Labels, faces: EpisodeFaces, config: Config, likely: float | None) -> ReviewData:
    """``likely``: the similarity at which the face bank names someone; an unnamed person's card
    says who they look like only from there up."""
    table = review.people_table(labels, faces, config)
    per_person = config.get("review.faces_per_person")
    rows = []
    for rec in table.itertuples(index=False):
        nearest = review.suggestions(labels, rec.key, faces, 1) if rec.named_by == "" else []
        nearest = [s for s in nearest if likely is None or s.similarity >= likely]
        rows.append(PersonRow(rec.key, rec.name, rec.named_by, bool(rec.hidden), int(rec.tracks),
                              float(rec.screen_time_s), float(rec.share),
                              tuple(review.best_detections(faces, labels.tracks_of(rec.key), per_person)),
                              nearest[0] if nearest else None))
    return ReviewData(labels, rows, track_rows(labels, None, faces, config), len(labels.tracks))


def track_rows(labels: Labels, key: str | None, faces: EpisodeFaces, config: Config) -> list[TrackRow]:
    """A person's tracks, least like them first; ``key`` None: the tracks nobody has."""
    limit = config.get("review.suggestions")
    if key is None:
        rows = [_unassigned_row(labels, t, faces, limit) for t in labels.unassigned()]
        return sorted(rows, key=lambda r: r.start_s)
    return [TrackRow(int(r.track), float(r.start_s), float(r.end_s), int(r.detections), float(r.similarity),
                     int(r.best_det), tuple(review.track_suggestions(labels, int(r.track), faces, limit)))
            for r in review.person_tracks(labels, key, faces).itertuples(index=False)]


def _unassigned_row(labels: Labels, track: int, faces: EpisodeFaces, limit: int) -> TrackRow:
    row = faces.tracks.loc[track]
    best = review.best_detections(faces, [track], 1)
    return TrackRow(track, float(row["start_s"]), float(row["end_s"]), int(row["detections"]), float("nan"),
                    best[0] if best else -1, tuple(review.track_suggestions(labels, track, faces, limit)))


def count_text(n: int, noun: str) -> str:
    """'1 track', '3 tracks'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
