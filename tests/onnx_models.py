"""Tiny ONNX stand-ins for insightface's SCRFD and ArcFace, with the real input/output signatures.

Real packs cannot be downloaded on our build machines, so the engine is tested with these. The
detector fires on one thing only: a white 32x32 square aligned to the stride-32 grid (cell ``FACE_CELL``)
in a black frame, and reports exactly that cell as the face, with fixed landmarks inside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STRIDES = (8, 16, 32)
ANCHORS = 2
FACE_STRIDE = 32
FACE_CELL = (3, 5)  # (row, column) of the stride-32 cell that holds the face, in detector input pixels
# Landmarks as fractions of the face box: ArcFace's template in its 112x112 crop.
KPS_FRACTIONS = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                          [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32) / 112.0
_OPSET = 13
_IR_VERSION = 8


def face_box(scale: float = 1.0) -> tuple[float, float, float, float]:
    """The box the tiny detector reports, in pixels of an image ``scale`` times the detector input."""
    row, col = FACE_CELL
    x1, y1 = col * FACE_STRIDE, row * FACE_STRIDE
    return (x1 * scale, y1 * scale, (x1 + FACE_STRIDE) * scale, (y1 + FACE_STRIDE) * scale)


def face_image(width: int = 640, height: int = 480, scale: float = 1.0) -> np.ndarray:
    """A black BGR frame with the white square the detector fires on (``scale`` = image / input)."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = (round(v) for v in face_box(scale))
    image[y1:y2, x1:x2] = 255
    return image


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)],
                              producer_name="screenalyzer-tests")
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _head(name: str, stride: int, width: int, weight: np.ndarray, bias: np.ndarray,
          nodes: list, inits: list, sigmoid: bool = False) -> str:
    """Conv (kernel = stride = the level's stride) -> NHWC -> (cells*anchors, width), like SCRFD's heads."""
    inits += [numpy_helper.from_array(weight.astype(np.float32), f"{name}_w"),
              numpy_helper.from_array(bias.astype(np.float32), f"{name}_b"),
              numpy_helper.from_array(np.array([-1, width], dtype=np.int64), f"{name}_shape")]
    conv = f"{name}_conv"
    nodes.append(helper.make_node("Conv", ["input.1", f"{name}_w", f"{name}_b"], [conv],
                                  kernel_shape=[stride, stride], strides=[stride, stride], name=conv))
    last = conv
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", [conv], [f"{name}_sig"], name=f"{name}_sig"))
        last = f"{name}_sig"
    nodes.append(helper.make_node("Transpose", [last], [f"{name}_nhwc"], perm=[0, 2, 3, 1],
                                  name=f"{name}_nhwc"))
    nodes.append(helper.make_node("Reshape", [f"{name}_nhwc", f"{name}_shape"], [name], name=f"{name}_out"))
    return name


def build_scrfd(path: Path, input_size: int | None = None, with_kps: bool = True) -> Path:
    """An SCRFD look-alike: input 1x3xHxW (dynamic, or fixed square), 9 outputs (6 without keypoints)."""
    side: int | str = input_size if input_size is not None else "?"
    nodes: list = []
    inits: list = []
    outputs = {"score": [], "bbox": [], "kps": []}
    for stride in STRIDES:
        area = 3 * stride * stride
        # Score: only anchor 0 at stride 32 looks at the pixels; it is high where a whole cell is white
        # (SCRFD's input is (pixel - 127.5) / 128, so white is ~+1 and black ~-1).
        score_w = np.zeros((ANCHORS, 3, stride, stride))
        score_b = np.full(ANCHORS, -10.0)
        if stride == FACE_STRIDE:
            score_w[0] = 20.0 / area
            score_b[0] = -18.0
        outputs["score"].append(_head(f"score_{stride}", stride, 1, score_w, score_b, nodes, inits, True))
        # Box: distances (left, top, right, bottom) from the anchor (the cell's top-left) in strides.
        bbox_b = np.tile([0.0, 0.0, 1.0, 1.0], ANCHORS)
        outputs["bbox"].append(_head(f"bbox_{stride}", stride, 4, np.zeros((4 * ANCHORS, 3, stride, stride)),
                                     bbox_b, nodes, inits))
        if with_kps:
            kps_b = np.tile(KPS_FRACTIONS.reshape(-1), ANCHORS)
            outputs["kps"].append(_head(f"kps_{stride}", stride, 10,
                                        np.zeros((10 * ANCHORS, 3, stride, stride)), kps_b, nodes, inits))
    widths = {"score": 1, "bbox": 4, "kps": 10}
    graph_outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n_{name}", widths[kind]])
                     for kind in ("score", "bbox", "kps") for name in outputs[kind]]
    graph = helper.make_graph(
        nodes, "tiny_scrfd",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, side, side])],
        graph_outputs, initializer=inits)
    return _save(graph, path)


def build_arcface(path: Path, dim: int = 512, batch: int | None = None, seed: int = 0) -> Path:
    """An ArcFace look-alike: input Nx3x112x112 (N dynamic, or fixed) -> Nx``dim``, a fixed random map."""
    rng = np.random.default_rng(seed)
    channels, patch = 4, 16
    cells = channels * (112 // patch) ** 2
    conv_w = rng.normal(size=(channels, 3, patch, patch)).astype(np.float32)
    fc_w = rng.normal(size=(cells, dim)).astype(np.float32)
    inits = [numpy_helper.from_array(conv_w, "conv_w"), numpy_helper.from_array(fc_w, "fc_w")]
    nodes = [helper.make_node("Conv", ["input.1", "conv_w"], ["conv"], kernel_shape=[patch, patch],
                              strides=[patch, patch], name="conv"),
             helper.make_node("Flatten", ["conv"], ["flat"], axis=1, name="flatten"),
             helper.make_node("MatMul", ["flat", "fc_w"], ["683"], name="fc")]
    batch_dim: int | str = batch if batch is not None else "None"
    graph = helper.make_graph(
        nodes, "tiny_arcface",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [batch_dim, 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [batch_dim, dim])], initializer=inits)
    return _save(graph, path)


def build_pack(folder: Path, input_size: int | None = None, with_kps: bool = True,
               arcface_batch: int | None = None) -> Path:
    """A buffalo_l-style folder of tiny models (same file names as the real pack)."""
    build_scrfd(folder / "det_10g.onnx", input_size=input_size, with_kps=with_kps)
    build_arcface(folder / "w600k_r50.onnx", batch=arcface_batch)
    return folder
