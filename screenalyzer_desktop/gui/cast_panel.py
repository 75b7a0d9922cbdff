"""The Cast tab: the face bank of the selected episode's show, as the folder it is made from (one
sub-folder of photos per person). Add people, drag photos in (they are copied), remove a bad one
(moved to the cast folder's `.trash`, never deleted). The cluster stage rebuilds the bank when the
photos change, so after a change this episode's matching is stale until Cluster runs again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from screenalyzer_desktop.cast_bank import PHOTO_SUFFIXES, set_episode_cast, show_photos_dir
from screenalyzer_desktop.core.atomic import os_error
from screenalyzer_desktop.core.config import Config, load_config
from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.core.workspace import Episode, Workspace
from screenalyzer_desktop.gui.cast_photos import (
    TRASH,
    FirstPhotoRole,
    PathRole,
    PhotoGrid,
    cast_people,
    copy_photos,
    guess_show,
    load_icons,
    restore_photo,
    trash_photo,
)
from screenalyzer_desktop.gui.error_view import ErrorPanel
from screenalyzer_desktop.gui.review_side import face_icon
from screenalyzer_desktop.gui.tasks import run_in_pool
from screenalyzer_desktop.stages.cluster import cast_settings


class CastPanel(QWidget):
    castChanged = Signal(str)  # episode id: the show's photos changed, so its Cluster stage is stale
    rerunMatchingRequested = Signal(str)  # episode id: run Cluster (and what follows) again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.episode: Episode | None = None
        self.cast_dir: Path | None = None
        self.show_name = ""
        self._removed: list[list[tuple[Path, Path]]] = []  # per removal, (where each photo was, in .trash)
        self._icon_px = 0
        self._icons: dict[str, QPixmap] = {}
        self.error_panel = ErrorPanel(closable=True)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_no_cast())
        self.pages.addWidget(self._build_cast())
        self.stale_hint = QLabel()
        self.stale_hint.setWordWrap(True)
        self.stale_hint.setStyleSheet("background: #fff4d6; color: #5c4400; padding: 6px; border-radius: 4px;")
        self.rerun_button = QPushButton("Re-run matching")
        self.rerun_button.setToolTip("Run Cluster and the stages after it with the new photos")
        self.rerun_button.clicked.connect(self._on_rerun_button_clicked)
        hint = QHBoxLayout()
        hint.addWidget(self.stale_hint, 1)
        hint.addWidget(self.rerun_button)
        self.hint_row = QWidget()
        self.hint_row.setLayout(hint)
        self.hint_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_panel)
        layout.addWidget(self.title)
        layout.addWidget(self.hint_row)
        layout.addWidget(self.pages, 1)
        self.set_episode(None, None)

    def _build_no_cast(self) -> QWidget:
        page = QWidget()
        self.no_cast_label = QLabel()
        self.no_cast_label.setWordWrap(True)
        self.use_folder_button = QPushButton("Use a cast folder…")
        self.use_folder_button.setToolTip("A folder with one sub-folder of photos per person")
        self.use_folder_button.clicked.connect(self._on_use_folder_button_clicked)
        self.new_cast_button = QPushButton("New cast for show…")
        self.new_cast_button.clicked.connect(self._on_new_cast_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_folder_button)
        buttons.addWidget(self.new_cast_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addWidget(self.no_cast_label)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return page

    def _build_cast(self) -> QWidget:
        self.people_list = QListWidget()
        self.people_list.setSpacing(1)
        self.people_list.currentItemChanged.connect(self._on_person_changed)
        self.add_person_button = QPushButton("Add person…")
        self.add_person_button.clicked.connect(self._on_add_person_button_clicked)
        self.photos = PhotoGrid()
        self.photos.photosDropped.connect(self._on_photos_dropped)
        self.photos.itemSelectionChanged.connect(self._update_buttons)
        self.photos_label = QLabel()
        self.add_photos_button = QPushButton("Add photos…")
        self.add_photos_button.clicked.connect(self._on_add_photos_button_clicked)
        self.remove_photo_button = QPushButton("Remove photo")
        self.remove_photo_button.setToolTip(f"Moves the photo to the cast folder's {TRASH} folder")
        self.remove_photo_button.clicked.connect(self._on_remove_photo_button_clicked)
        self.put_back_button = QPushButton("Put back")
        self.put_back_button.setToolTip("Puts the last removed photos back into the cast")
        self.put_back_button.clicked.connect(self.put_back)
        self.put_back_button.setEnabled(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("People"))
        left_layout.addWidget(self.people_list, 1)
        left_layout.addWidget(self.add_person_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.photos_label)
        right_layout.addWidget(self.photos, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_photos_button)
        buttons.addWidget(self.remove_photo_button)
        buttons.addWidget(self.put_back_button)
        buttons.addStretch(1)
        right_layout.addLayout(buttons)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 800])
        return split

    # -- episode ----------------------------------------------------------------------------------
    def set_episode(self, workspace: Workspace | None, episode: Episode | None, config: Config | None = None) -> None:
        """Show the cast of this episode's show (``config`` gives the photo size; defaults otherwise)."""
        changed = episode is None or self.episode is None or episode.dir != self.episode.dir
        self.workspace, self.episode = workspace, episode
        if self._icon_px == 0 or config is not None:
            self._icon_px = (config or load_config()).get("review.thumb_px")
            self.photos.set_photo_size(self._icon_px)
            self.people_list.setIconSize(QSize(self._icon_px // 2, self._icon_px // 2))
        if changed:
            self.hint_row.hide()
            self.error_panel.clear_error()
            self._removed.clear()
        settings = cast_settings(episode) if episode is not None else None
        if settings and settings.get("cast_dir"):
            self.cast_dir, self.show_name = Path(settings["cast_dir"]), str(settings.get("show", ""))
        elif not changed and self.cast_dir is not None:
            pass  # a new cast with no photo yet: cast.json is written with the first photo
        else:
            self.cast_dir, self.show_name = None, ""
        self.refresh()

    def refresh(self) -> None:
        """Read the cast folder again (cheap: a listing; photos are decoded on the pool)."""
        if self.episode is None:
            self.title.setText("")
            self.no_cast_label.setText("Select an episode to see the cast of its show.")
            self.use_folder_button.setEnabled(False)
            self.new_cast_button.setEnabled(False)
            self.pages.setCurrentIndex(0)
            return
        if self.cast_dir is None:
            self.title.setText(f"<b>{self.episode.id}</b> has no cast")
            self.no_cast_label.setText(
                "Give this episode the cast of its show: the people in it are then named from their photos "
                "before the unknown ones are grouped, and so is every later episode of the show.")
            self.use_folder_button.setEnabled(True)
            self.new_cast_button.setEnabled(self.workspace is not None)
            self.pages.setCurrentIndex(0)
            return
        self.title.setText(f"Cast of <b>{self.show_name}</b>  ·  <small>{self.cast_dir}</small>")
        self.pages.setCurrentIndex(1)
        people = cast_people(self.cast_dir)
        current = self.current_person()
        self.people_list.blockSignals(True)
        self.people_list.clear()
        for name, photos in people.items():
            item = QListWidgetItem(f"{name}  ({len(photos)})")
            item.setData(PathRole, name)
            item.setData(FirstPhotoRole, str(photos[0]) if photos else "")
            if not photos:
                item.setToolTip("No photo yet: drag photos onto the right-hand side")
            self.people_list.addItem(item)
        self.people_list.blockSignals(False)
        self._load_icons([p[0] for p in people.values() if p])
        names = list(people)
        if names:
            self.people_list.setCurrentRow(names.index(current) if current in names else 0)
        self._on_person_changed()

    def current_person(self) -> str | None:
        item = self.people_list.currentItem()
        return item.data(PathRole) if item is not None else None

    def _on_person_changed(self, *_: object) -> None:
        person = self.current_person()
        self.photos.clear()
        photos = cast_people(self.cast_dir).get(person, []) if self.cast_dir and person else []
        self.photos_label.setText(f"<b>{person}</b>: {len(photos)} photo(s) — drag photos here to add them"
                                  if person else "Add a person, then drag their photos here.")
        for photo in photos:
            item = QListWidgetItem(photo.name)
            item.setData(PathRole, str(photo))
            item.setToolTip(str(photo))
            if str(photo) in self._icons:
                item.setIcon(face_icon(self._icons[str(photo)]))
            self.photos.addItem(item)
        self._load_icons(photos)
        self._update_buttons()

    def _load_icons(self, photos: list[Path]) -> None:
        missing = [p for p in photos if str(p) not in self._icons]
        if missing:
            run_in_pool(load_icons, missing, self._icon_px, on_done=self._on_icons_loaded,
                        on_failed=lambda error: self.error_panel.show_error(error, "Cast photos"), owner=self)
        else:
            self._on_icons_loaded({})

    def _on_icons_loaded(self, images: dict[str, QImage]) -> None:
        for path, image in images.items():
            self._icons[path] = QPixmap.fromImage(image)
        for widget, role in ((self.photos, PathRole), (self.people_list, FirstPhotoRole)):
            for i in range(widget.count()):
                item = widget.item(i)
                pixmap = self._icons.get(item.data(role))
                if pixmap is not None and item.icon().isNull():
                    item.setIcon(face_icon(pixmap))

    def _update_buttons(self) -> None:
        person = self.current_person() is not None
        self.add_photos_button.setEnabled(person)
        self.remove_photo_button.setEnabled(bool(self.photos.selectedItems()))
        self.put_back_button.setEnabled(bool(self._removed))

    # -- changing the cast ------------------------------------------------------------------------
    def use_cast_folder(self, folder: Path) -> bool:
        """Match this episode against ``folder`` (one sub-folder of photos per person)."""
        if self.episode is None:
            return False
        try:
            set_episode_cast(self.episode, folder)
        except ScreenalyzerError as error:
            self.error_panel.show_error(error, str(folder))
            return False
        self.cast_dir, self.show_name = Path(folder).resolve(), Path(folder).resolve().name
        self._changed()
        return True

    def new_cast(self, show: str) -> Path | None:
        """An empty cast folder for ``show`` in the workspace; the episode uses it once it has a photo."""
        if self.episode is None or self.workspace is None or not show.strip():
            return None
        folder = show_photos_dir(self.workspace.cast_dir, show.strip())
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.error_panel.show_error(os_error(exc, folder), "New cast")
            return None
        self.cast_dir, self.show_name = folder, show.strip()
        if cast_people(folder) and any(cast_people(folder).values()):
            set_episode_cast(self.episode, folder, self.show_name)  # the show's cast already has photos
        self.refresh()
        return folder

    def add_person(self, name: str) -> bool:
        name = " ".join(name.split())
        if self.cast_dir is None or not name or "/" in name or "\\" in name or name.startswith("."):
            return False
        (self.cast_dir / name).mkdir(parents=True, exist_ok=True)
        self.refresh()
        self.people_list.setCurrentRow(list(cast_people(self.cast_dir)).index(name))
        return True

    def add_photos(self, person: str, photos: list[Path]) -> None:
        """Copy photos into the person's folder (on the pool); the view follows when they are in."""
        if self.cast_dir is None or not photos:
            return
        run_in_pool(copy_photos, list(photos), self.cast_dir / person, on_done=lambda _: self._changed(),
                    on_failed=lambda error: self.error_panel.show_error(error, "Adding photos"), owner=self)

    def remove_photos(self, photos: list[Path]) -> None:
        """Move photos to the cast folder's trash; :meth:`put_back` undoes the last removal."""
        if self.cast_dir is None:
            return
        moved: list[tuple[Path, Path]] = []
        try:
            for photo in photos:
                moved.append((photo, trash_photo(self.cast_dir, photo)))
        except ScreenalyzerError as error:
            self.error_panel.show_error(error, "Removing a photo")
        if moved:
            self._removed.append(moved)
        self._changed()

    def put_back(self) -> None:
        """Return the photos of the last removal to where they were."""
        if not self._removed:
            return
        try:
            for original, trashed in self._removed.pop():
                restore_photo(trashed, original)
        except ScreenalyzerError as error:
            self.error_panel.show_error(error, "Putting a photo back")
        self._changed()

    def _changed(self) -> None:
        """The photos changed: the episode's cast settings follow, and its Cluster stage is stale."""
        if self.episode is None or self.cast_dir is None:
            return
        if cast_settings(self.episode) is None and any(cast_people(self.cast_dir).values()):
            try:
                set_episode_cast(self.episode, self.cast_dir, self.show_name)
            except ScreenalyzerError as error:
                self.error_panel.show_error(error, "Cast")
        self.stale_hint.setText(f"The cast of <b>{self.show_name}</b> changed. Matching of this episode is stale: "
                                "re-run <b>Cluster</b> (and the stages after it) to name people from the new "
                                "photos. Later episodes of the show use them automatically.")
        self.hint_row.show()
        self.refresh()
        self.castChanged.emit(self.episode.id)

    # -- buttons and drops --------------------------------------------------------------------------
    def _on_use_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Cast folder: one sub-folder of photos per person")
        if folder:
            self.use_cast_folder(Path(folder))

    def _on_new_cast_button_clicked(self) -> None:
        if self.episode is None:
            return
        show, ok = QInputDialog.getText(self, "New cast", "Show name:", text=guess_show(self.episode))
        if ok and show.strip():
            self.new_cast(show)

    def _on_add_person_button_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Add person", "Name (as it should appear in the results):")
        if ok:
            self.add_person(name)

    def _on_add_photos_button_clicked(self) -> None:
        person = self.current_person()
        patterns = " ".join(f"*{s}" for s in sorted(PHOTO_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, f"Photos of {person}", "", f"Photos ({patterns})")
        if person and files:
            self.add_photos(person, [Path(f) for f in files])

    def _on_photos_dropped(self, photos: list[Path]) -> None:
        person = self.current_person()
        if person is not None:
            self.add_photos(person, photos)

    def _on_remove_photo_button_clicked(self) -> None:
        self.remove_photos([Path(item.data(PathRole)) for item in self.photos.selectedItems()])

    def _on_rerun_button_clicked(self) -> None:
        if self.episode is not None:
            self.rerunMatchingRequested.emit(self.episode.id)
