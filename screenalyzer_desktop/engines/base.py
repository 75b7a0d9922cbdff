"""The one small interface every face engine implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Face:
    """One detected face in one image: box in that image's pixels, detector score, landmarks."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float
    landmarks: np.ndarray | None = field(default=None, compare=False)  # (5, 2) when known

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class FaceEngine(ABC):
    """Detects faces and embeds them. Thresholds that depend on the engine live in configs/."""

    name: str
    embedding_dim: int

    @abstractmethod
    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image, boxes in that image's pixel coordinates."""

    @abstractmethod
    def embed(self, image_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        """One L2-normalised float32 row per face, shape (len(faces), embedding_dim)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What ran: engine name, model files and hashes, execution providers (for logs and records)."""


def l2_normalize(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    if rows.size == 0:
        return rows.reshape(0, rows.shape[-1] if rows.ndim == 2 else 0)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)
