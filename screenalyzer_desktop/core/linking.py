"""Online IoU linking of face boxes between consecutive samples of one shot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (n, 4) with every box in ``b`` (m, 4); boxes are x1, y1, x2, y2."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return (inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)).astype(np.float32)


@dataclass
class _Live:
    tracklet: int
    box: np.ndarray
    last_t: float


@dataclass
class IouLinker:
    """Greedy highest-IoU-first matching of new boxes to live tracklets; unmatched ones start new.

    A tracklet closes when no box continues it for ``max_gap_s`` or when ``reset()`` marks a cut.
    """

    iou_min: float
    max_gap_s: float
    _next_id: int = 0
    _live: list[_Live] = field(default_factory=list)

    def reset(self) -> list[int]:
        """A shot cut: every live tracklet ends. Returns the closed ids."""
        closed = [live.tracklet for live in self._live]
        self._live = []
        return closed

    def carry(self, tracklet: int, t: float, box: np.ndarray) -> None:
        """A tracker, not the detector, still sees ``tracklet`` at ``t``: keep it open there, so that the
        detector's next box of that face continues it."""
        for live in self._live:
            if live.tracklet == tracklet:
                live.box, live.last_t = np.asarray(box), t

    def update(self, t: float, boxes: np.ndarray) -> tuple[list[int], list[int]]:
        """Assign a tracklet id to each box at time ``t``; also return ids that closed by gap."""
        closed = [live.tracklet for live in self._live if t - live.last_t > self.max_gap_s]
        self._live = [live for live in self._live if t - live.last_t <= self.max_gap_s]
        ids = [-1] * len(boxes)
        if self._live and len(boxes):
            overlap = iou_matrix(np.stack([live.box for live in self._live]), np.asarray(boxes))
            for flat in np.argsort(-overlap, axis=None):
                i, j = divmod(int(flat), overlap.shape[1])
                if overlap[i, j] < self.iou_min:
                    break
                if ids[j] == -1 and self._live[i].last_t < t:
                    ids[j] = self._live[i].tracklet
                    self._live[i].box, self._live[i].last_t = np.asarray(boxes[j]), t
        for j, box in enumerate(boxes):
            if ids[j] == -1:
                ids[j] = self._next_id
                self._live.append(_Live(self._next_id, np.asarray(box), t))
                self._next_id += 1
        return ids, closed
