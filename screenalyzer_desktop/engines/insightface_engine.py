"""The production face engine: insightface SCRFD detection and ArcFace recognition on onnxruntime.

Models are loaded one file at a time with ``insightface.model_zoo.get_model`` from a local, validated
pack folder, never by pack name, so insightface never tries to download. insightface is imported
only when an engine is built, so ``pack_available`` stays cheap for the ``auto`` engine choice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from screenalyzer_desktop.core.errors import ScreenalyzerError
from screenalyzer_desktop.engines.base import Face, FaceEngine, l2_normalize
from screenalyzer_desktop.engines.model_pack import DETECTION, RECOGNITION, ModelPack, load_pack

log = logging.getLogger("screenalyzer.engines")

CPU_PROVIDER = "CPUExecutionProvider"

# ArcFace's 5-point template in its 112x112 crop: used to place landmarks in a box when the
# detector gives none (SCRFD variants without keypoints), so the crop matches the usual alignment.
_ARCFACE_TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                  [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


def pack_available(folder: Path) -> bool:
    """Whether ``folder`` holds a usable pack (files present, sizes as recorded; no hashing)."""
    try:
        load_pack(folder, verify_hashes=False)
    except ScreenalyzerError:
        return False
    return True


def select_providers(requested: Sequence[str], available: Sequence[str] | None = None) -> list[str]:
    """The requested onnxruntime providers this build has, in the requested order, CPU always last."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    chosen = [name for name in dict.fromkeys(requested) if name in available and name != CPU_PROVIDER]
    dropped = [name for name in requested if name not in available]
    if dropped:
        log.info("onnxruntime providers not available here, skipped: %s", ", ".join(dropped))
    return [*chosen, CPU_PROVIDER]


def _landmarks_from_box(box: tuple[float, float, float, float]) -> np.ndarray:
    x1, y1, x2, y2 = box
    scale = np.array([x2 - x1, y2 - y1], dtype=np.float32) / 112.0
    return _ARCFACE_TEMPLATE_112 * scale + np.array([x1, y1], dtype=np.float32)


class InsightFaceEngine(FaceEngine):
    """SCRFD + ArcFace from a local pack folder. Config: the ``engines.insightface`` section."""

    name = "insightface"

    def __init__(self, folder: Path, settings: Mapping[str, Any]) -> None:
        self.pack: ModelPack = load_pack(folder)
        self.det_size = int(settings["det_size"])
        self.det_threshold = float(settings["det_threshold"])
        self.nms_threshold = float(settings["nms_threshold"])
        self.requested_providers = list(settings["providers"])
        providers = select_providers(self.requested_providers)
        from insightface.model_zoo import SCRFD, ArcFaceONNX

        self._detector = self._load(self.pack.detection, SCRFD, DETECTION, providers)
        self._recognizer = self._load(self.pack.recognition, ArcFaceONNX, RECOGNITION, providers)
        # ctx_id 0 keeps the chosen providers (a negative id would force CPU).
        self._detector.prepare(0, input_size=(self.det_size, self.det_size), det_thresh=self.det_threshold,
                               nms_thresh=self.nms_threshold)
        dim = self._recognizer.output_shape[-1]
        if not isinstance(dim, int):
            raise ScreenalyzerError("ERR_MODEL_INVALID",
                                    detail=f"{self.pack.recognition}: embedding size {dim!r} is not fixed")
        self.embedding_dim = dim
        batch = self._recognizer.input_shape[0]
        # A model exported with a fixed batch of 1 is fed one crop at a time.
        self._batch_ok = not (isinstance(batch, int) and batch == 1)

    @staticmethod
    def _load(path: Path, expected: type, role: str, providers: list[str]) -> Any:
        from insightface.model_zoo import get_model

        try:
            model = get_model(str(path), providers=providers, download=False)
        except Exception as exc:  # onnxruntime and insightface raise many types for a bad file
            raise ScreenalyzerError("ERR_MODEL_INVALID",
                                    detail=f"{path}: onnxruntime could not load it "
                                           f"({type(exc).__name__}: {exc})") from exc
        if not isinstance(model, expected):
            raise ScreenalyzerError("ERR_MODEL_INVALID",
                                    detail=f"{path}: insightface does not route it to a {role} model "
                                           f"(got {type(model).__name__})")
        return model

    def providers(self) -> list[str]:
        """The providers onnxruntime actually runs each session on (a failing CUDA falls back to CPU)."""
        sessions = (self._detector.session, self._recognizer.session)
        return list(dict.fromkeys(name for session in sessions for name in session.get_providers()))

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        dets, kpss = self._detector.detect(image_bgr, max_num=0)
        height, width = image_bgr.shape[:2]
        faces = []
        for index, (x1, y1, x2, y2, score) in enumerate(dets.tolist()):
            box = (min(max(x1, 0.0), width), min(max(y1, 0.0), height),
                   min(max(x2, 0.0), width), min(max(y2, 0.0), height))
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            landmarks = None if kpss is None else np.asarray(kpss[index], dtype=np.float32).reshape(5, 2)
            faces.append(Face(box=box, score=float(score), landmarks=landmarks))
        return faces

    def embed(self, image_bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        from insightface.utils.face_align import norm_crop

        side = int(self._recognizer.input_size[0])
        crops = [norm_crop(image_bgr, face.landmarks if face.landmarks is not None
                           else _landmarks_from_box(face.box), image_size=side)
                 for face in faces]
        if self._batch_ok:
            rows = self._recognizer.get_feat(crops)
        else:
            rows = np.vstack([self._recognizer.get_feat(crop) for crop in crops])
        return l2_normalize(np.asarray(rows, dtype=np.float32).reshape(len(faces), -1))

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "pack": self.pack.name,
            "pack_dir": str(self.pack.folder),
            "models": {
                role: {"file": path.name, "sha256": self.pack.sha256[path.name]}
                for role, path in ((DETECTION, self.pack.detection), (RECOGNITION, self.pack.recognition))
            },
            "providers": self.providers(),
            "requested_providers": self.requested_providers,
            "det_size": list(self._detector.input_size),
            "det_threshold": self.det_threshold,
            "nms_threshold": self.nms_threshold,
            "embedding_dim": self.embedding_dim,
        }
