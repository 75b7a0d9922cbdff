"""The Review tab's edits: each one a pure `labels` function pushed as an undoable command.

A bad edit (a person gone since the view was drawn, say) shows its ScreenalyzerError and pushes
nothing. Mixed into ReviewView, which provides the widgets used here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoStack

from screenalyzer_desktop import labels as edits
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.gui.review_commands import ConfirmEdit, LabelsEdit, LabelsStore

if TYPE_CHECKING:
    from screenalyzer_desktop.core.workspace import Episode
    from screenalyzer_desktop.labels import Labels


class ReviewEdits:
    store: LabelsStore | None = None  # the shown episode's
    stores: dict[str, LabelsStore]  # by episode folder: undo commands hold on to them

    def adopt_labels(self, episode: Episode, labels: Labels, stack: QUndoStack, revision: int | None) -> None:
        """Labels read from disk: the store of this episode takes them unless an edit happened since the
        read began; labels changed by someone else make this episode's undo history meaningless."""
        store = self.stores.get(str(episode.dir))
        if store is None:
            store = self.stores[str(episode.dir)] = LabelsStore(episode, labels, self)
            store.saved.connect(lambda _labels, s=store: self._on_store_saved(s))
            store.failed.connect(lambda error: self.error_panel.show_error(error, "Saving the labels"))
        elif store.revision == revision and store.labels != labels:
            store.replace_loaded(labels)
            stack.clear()
        self.store = store

    def _on_store_saved(self, store: LabelsStore) -> None:
        self.labelsChanged.emit(store.episode.id)
        if store is self.store:
            self.error_panel.clear_error()
            self.refresh()

    def _edit(self, text: str, change: Callable[[Labels], Labels], named: Callable[[Labels], list[str]] | None = None,
              ) -> bool:
        """Push one undoable edit; ``named`` picks the people whose names it confirms (their best
        faces go to the cast folder)."""
        store, stack = self.store, self.undo_stack
        if store is None or stack is None:
            return False
        before = store.labels
        try:
            after = change(before)
        except ScreenalyzerError as error:
            self.error_panel.show_error(error, text)
            return False
        if after == before:
            return False
        if named is not None and self.faces is not None and self.config is not None:
            stack.push(ConfirmEdit(store, text, before, after, named(after), self.faces, self.config,
                                   self._on_cast_photos, lambda e: self.error_panel.show_error(e, "Cast photos")))
        else:
            stack.push(LabelsEdit(store, text, before, after))
        return True

    def _on_cast_photos(self, paths: list[Path]) -> None:
        if self.episode is None:
            return
        self.note.setText(f"Added {len(paths)} face(s) of {paths[0].parent.name} to the show's cast folder"
                          if paths else "")
        self.castChanged.emit(self.episode.id)

    def _name(self, key: str) -> str:
        return self.store.labels.people[key].name if self.store and key in self.store.labels.people else key

    # -- the edits --------------------------------------------------------------------------------
    def ask_name(self, keys: list[str]) -> None:
        if self.store is None or not keys:
            return
        people = self.store.labels.people
        taken = {p.name for k, p in people.items() if k not in keys and not p.unnamed}
        names = sorted(set(self.cast_names) | taken, key=str.casefold)
        self.name_dialog.ask(keys, self._name(keys[0]), names, taken)

    def rename(self, keys: list[str], name: str) -> bool:
        def change(labels: Labels) -> Labels:
            for key in keys:
                labels = edits.rename(labels, key, name)
            return labels

        clean = " ".join(name.split())
        return self._edit(f"Name {clean}", change, lambda after: [k for k in [after.key_named(clean)] if k])

    def confirm(self, keys: list[str]) -> bool:
        def change(labels: Labels) -> Labels:
            for key in keys:
                labels = edits.confirm(labels, key)
            return labels

        what = self._name(keys[0]) if len(keys) == 1 else f"{len(keys)} people"
        return bool(keys) and self._edit(f"Confirm {what}", change, lambda _after: list(keys))

    def merge(self, keys: list[str], into: str | None = None) -> bool:
        if into is None:
            into = self.merge_target(keys)
        if into is None:
            return False
        return self._edit(f"Merge into {self._name(into)}", lambda labels: edits.merge(labels, keys, into))

    def merge_onto(self, keys: list[str], onto: str) -> bool:
        """People dragged onto ``onto`` become that person, unless one of them has the stronger name (given
        by the editor, over a face-bank name, over none): a drop never loses a name."""
        people = list(dict.fromkeys([onto, *keys]))
        best = self.merge_target(people)
        if len(people) < 2 or best is None:
            return False
        return self.merge(people, onto if self._name_rank(onto) <= self._name_rank(best) else best)

    def merge_target(self, keys: list[str]) -> str | None:
        """The confirmed name first, then a face-bank name, then who is on screen longest."""
        if self.data is None or not keys:
            return None
        rows = [r for r in (self.data.row(k) for k in keys) if r is not None]
        if not rows:
            return keys[0]
        return min(rows, key=lambda r: (self._name_rank(r.key), -r.screen_time_s, -r.tracks)).key

    def _name_rank(self, key: str) -> int:
        row = self.data.row(key) if self.data is not None else None
        return {"user": 0, "cast": 1}.get(row.named_by if row is not None else "", 2)

    def split(self, tracks: list[int], name: str = "") -> bool:
        return self._edit(f"Split {len(tracks)} track(s) off", lambda labels: edits.split(labels, tracks, name))

    def move(self, tracks: list[int], key: str) -> bool:
        return self._edit(f"Move {len(tracks)} track(s) to {self._name(key)}",
                          lambda labels: edits.move(labels, tracks, key))

    def eject(self, tracks: list[int]) -> bool:
        return self._edit(f"Not this person: {len(tracks)} track(s)", lambda labels: edits.eject(labels, tracks))

    def set_hidden(self, keys: list[str], hidden: bool) -> bool:
        def change(labels: Labels) -> Labels:
            for key in keys:
                labels = edits.set_hidden(labels, key, hidden)
            return labels

        what = self._name(keys[0]) if len(keys) == 1 else f"{len(keys)} people"
        return bool(keys) and self._edit(f"{'Hide' if hidden else 'Unhide'} {what}", change)
