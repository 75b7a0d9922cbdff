"""The editor's corrections, layered over the cluster stage: which person each track belongs to.

`labels.json` in the episode folder holds the whole current assignment (not a list of edits), so it
survives a restart without replaying history, and each edit is one atomic write. Labels are about
tracks: when the cluster stage runs again over the same tracks (the cast grew, a threshold moved),
the editor's labels stay, and people still unnamed take a name the new clusters got from the face
bank. Only when the tracks themselves change are old labels kept aside as `labels.stale-<time>.json`.

Every edit is a pure function ``Labels -> Labels``; the window's undo stack keeps the before and
after values, so undo and redo are one save each. Screen time reads `track_people`, so it follows the
labels with no re-detection.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from screenalyzer_desktop.core.atomic import atomic_write_json, read_json, sha256_file
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.tables import read_table

if TYPE_CHECKING:
    from collections.abc import Iterable

    from screenalyzer_desktop.core.workspace import Episode

SCHEMA_VERSION = 1
LABELS_FILE = "labels.json"
CAST, USER, UNNAMED = "cast", "user", ""  # who gave a person their name
_CLUSTER_NAME = re.compile(r"cluster_(\d+)$")


@dataclass(frozen=True)
class Person:
    key: str  # stable id: "c<cluster>" for the cluster stage's people, "p<n>" for ones split off
    name: str  # shown everywhere; unnamed people are cluster_<n>
    named_by: str = UNNAMED  # cast (matched from the face bank, to confirm) | user | unnamed
    hidden: bool = False  # an extra or background face: kept, but not counted in screen time

    @property
    def unnamed(self) -> bool:
        return self.named_by == UNNAMED

    @property
    def to_confirm(self) -> bool:
        return self.named_by == CAST


@dataclass(frozen=True)
class Labels:
    base: str  # sha256 of the tracks.parquet these labels are about
    people: dict[str, Person]
    tracks: dict[int, str | None]  # track → person key; None: nobody (noise, or ejected by the editor)
    rejected: dict[int, frozenset[str]] = field(default_factory=dict)  # track → people it is "not"
    next_id: int = 1

    def person(self, key: str) -> Person:
        try:
            return self.people[key]
        except KeyError:
            raise ScreenalyzerError("ERR_LABEL_INVALID", detail=f"no person {key!r}") from None

    def tracks_of(self, key: str) -> list[int]:
        return sorted(t for t, k in self.tracks.items() if k == key)

    def unassigned(self) -> list[int]:
        return sorted(t for t, k in self.tracks.items() if k is None)

    def key_named(self, name: str) -> str | None:
        return next((k for k, p in self.people.items() if p.name == name), None)

    def track_people(self) -> pd.Series:
        """Track → the name screen time counts it under ('' for nobody and for hidden people)."""
        names = {t: "" if k is None or self.people[k].hidden else self.people[k].name
                 for t, k in self.tracks.items()}
        return pd.Series(names, dtype=object).rename_axis("track")

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "base": self.base, "next_id": self.next_id,
                "people": [{"key": p.key, "name": p.name, "named_by": p.named_by, "hidden": p.hidden}
                           for p in self.people.values()],
                "tracks": {str(t): k for t, k in sorted(self.tracks.items())},
                "rejected": {str(t): sorted(keys) for t, keys in sorted(self.rejected.items()) if keys}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Labels:
        try:
            if data["schema_version"] != SCHEMA_VERSION:
                raise ValueError(f"schema_version {data['schema_version']}")
            people = {p["key"]: Person(str(p["key"]), str(p["name"]), str(p["named_by"]), bool(p["hidden"]))
                      for p in data["people"]}
            tracks = {int(t): (None if k is None else str(k)) for t, k in data["tracks"].items()}
            rejected = {int(t): frozenset(map(str, keys)) for t, keys in data.get("rejected", {}).items()}
            labels = cls(str(data["base"]), people, tracks, rejected, int(data["next_id"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail=f"labels: {exc!r}") from exc
        if any(k is not None and k not in people for k in tracks.values()):
            raise ScreenalyzerError("ERR_ARTIFACT_CORRUPT", detail="labels: a track points at no person")
        return labels


def from_clusters(clusters: pd.DataFrame, base: str = "") -> Labels:
    """The cluster stage's answer as labels: one person per cluster, noise tracks unassigned."""
    people: dict[str, Person] = {}
    tracks: dict[int, str | None] = {}
    for row in clusters.itertuples(index=False):
        if row.cluster < 0 or not row.person:
            tracks[int(row.track)] = None
            continue
        key = f"c{int(row.cluster)}"
        people.setdefault(key, Person(key, str(row.person), CAST if row.named_by == CAST else UNNAMED))
        tracks[int(row.track)] = key
    return Labels(base, people, tracks)


def labels_path(episode: Episode) -> Path:
    return episode.dir / LABELS_FILE


def load_labels(episode: Episode) -> Labels:
    """The saved labels over the current clusters' cast names, or the clusters themselves."""
    clusters, _ = read_table(episode.artifact("clusters.parquet"), "clusters", "ERR_CLUSTERS_MISSING")
    tracks_file = episode.artifact("tracks.parquet")
    if not tracks_file.exists():
        raise ScreenalyzerError("ERR_TRACKS_MISSING", detail=f"{tracks_file} is missing")
    fresh = from_clusters(clusters, sha256_file(tracks_file))
    path = labels_path(episode)
    try:
        saved = Labels.from_dict(read_json(path))
    except FileNotFoundError:
        return fresh
    if saved.base == fresh.base and set(saved.tracks) == set(fresh.tracks):
        return adopt_cast_names(saved, fresh)
    path.replace(path.with_name(f"labels.stale-{time.strftime('%Y%m%d-%H%M%S')}.json"))
    return fresh


def adopt_cast_names(saved: Labels, fresh: Labels) -> Labels:
    """An unnamed person whose tracks the new clusters all give one face-bank name, not yet taken,
    gets that name (to confirm)."""
    people = dict(saved.people)
    taken = {p.name for p in people.values()}
    for key, person in saved.people.items():
        if not person.unnamed:
            continue
        found = {fresh.tracks[t] for t in saved.tracks_of(key)}
        if len(found) == 1 and None not in found:
            match = fresh.people[found.pop()]
            if match.to_confirm and match.name not in taken:
                people[key] = replace(person, name=match.name, named_by=CAST)
                taken.add(match.name)
    return replace(saved, people=people)


def save_labels(episode: Episode, labels: Labels) -> None:
    atomic_write_json(labels_path(episode), labels.to_dict())


def labels_digest(episode: Episode) -> str | None:
    """What the screen-time stage records as its labels input (None: no edits saved)."""
    path = labels_path(episode)
    return sha256_file(path)[:16] if path.exists() else None


def track_people(episode: Episode) -> pd.Series:
    return load_labels(episode).track_people()


# -- edits: each returns new labels and leaves its input untouched --------------------------------

def rename(labels: Labels, key: str, name: str) -> Labels:
    """Give a person a name (the editor's word, so confirmed). Naming someone after a person who
    already exists makes them one person."""
    name = " ".join(name.split())
    if not name:
        raise ScreenalyzerError("ERR_LABEL_INVALID", detail="a name cannot be empty")
    person = labels.person(key)
    other = labels.key_named(name)
    if other is not None and other != key:
        return merge(labels, [key], other)
    people = dict(labels.people)
    people[key] = replace(person, name=name, named_by=USER)
    return replace(labels, people=people)


def confirm(labels: Labels, key: str) -> Labels:
    """Accept a name the face bank gave."""
    person = labels.person(key)
    if person.unnamed:
        raise ScreenalyzerError("ERR_LABEL_INVALID", detail=f"{person.name} has no name to confirm")
    return replace(labels, people={**labels.people, key: replace(person, named_by=USER)})


def set_hidden(labels: Labels, key: str, hidden: bool) -> Labels:
    person = labels.person(key)
    return replace(labels, people={**labels.people, key: replace(person, hidden=hidden)})


def merge(labels: Labels, keys: Iterable[str], into: str) -> Labels:
    """Everyone in ``keys`` becomes ``into``; a name wins over no name."""
    target = labels.person(into)
    sources = [k for k in dict.fromkeys(keys) if k != into]
    for k in sources:
        labels.person(k)
    if not sources:
        raise ScreenalyzerError("ERR_LABEL_INVALID", detail="merge needs at least two people")
    if target.unnamed:
        named = next((labels.people[k] for k in sources if not labels.people[k].unnamed), None)
        if named is not None:
            target = replace(target, name=named.name, named_by=named.named_by)
    people = {k: p for k, p in labels.people.items() if k not in sources}
    people[into] = target
    tracks = {t: into if k in sources else k for t, k in labels.tracks.items()}
    return replace(labels, people=people, tracks=tracks)


def move(labels: Labels, tracks: Iterable[int], to: str) -> Labels:
    """Tracks go to another person; people left with no track are removed."""
    labels.person(to)
    return _assign(labels, _known(labels, tracks), to)


def eject(labels: Labels, tracks: Iterable[int]) -> Labels:
    """"Not this person": the tracks go to nobody, and suggestions never offer them back."""
    chosen = _known(labels, tracks)
    rejected = dict(labels.rejected)
    for t in chosen:
        if labels.tracks[t] is not None:
            rejected[t] = rejected.get(t, frozenset()) | {labels.tracks[t]}
    return replace(_assign(labels, chosen, None), rejected=rejected)


def split(labels: Labels, tracks: Iterable[int], name: str = "") -> Labels:
    """The tracks become a new person, named ``name`` or the next free cluster_<n>."""
    chosen = _known(labels, tracks)
    key = f"p{labels.next_id}"
    label = " ".join(name.split()) or f"cluster_{next_cluster_number(labels)}"
    person = Person(key, label, USER if name.strip() else UNNAMED)
    grown = replace(labels, people={**labels.people, key: person}, next_id=labels.next_id + 1)
    result = _assign(grown, chosen, key)
    other = labels.key_named(label)
    return merge(result, [key], other) if other is not None else result


def next_cluster_number(labels: Labels) -> int:
    numbers = [int(m.group(1)) for p in labels.people.values() if (m := _CLUSTER_NAME.match(p.name))]
    return max(numbers, default=0) + 1


def _known(labels: Labels, tracks: Iterable[int]) -> list[int]:
    chosen = [int(t) for t in dict.fromkeys(tracks)]
    unknown = [t for t in chosen if t not in labels.tracks]
    if unknown or not chosen:
        raise ScreenalyzerError("ERR_LABEL_INVALID", detail=f"unknown or no tracks: {unknown}")
    return chosen


def _assign(labels: Labels, chosen: list[int], key: str | None) -> Labels:
    tracks = {**labels.tracks, **{t: key for t in chosen}}
    kept = set(tracks.values())
    people = {k: p for k, p in labels.people.items() if k in kept}
    return replace(labels, people=people, tracks=tracks)
