"""onnx_strip on a hand-built ONNX model (y = x @ W, W an initializer), pure Python:
`python train/test_onnx_strip.py [DIR]` checks the rewrite and, with DIR, writes
DIR/tiny.onnx, DIR/weights.bin and DIR/tiny-inline.onnx for a run through ONNX Runtime Web
(scripts/bench-browser.mjs --check-strip DIR loads the external-data model there)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_strip import externalize, field_bytes, field_varint, fields  # noqa: E402


def s(no: int, text: str) -> bytes:
    return field_bytes(no, text.encode())


def value_info(name: str, dims) -> bytes:
    shape = b"".join(field_bytes(1, field_varint(1, d)) for d in dims)   # Dimension.dim_value
    tensor_type = field_varint(1, 1) + field_bytes(2, shape)             # elem_type FLOAT, shape
    return s(1, name) + field_bytes(2, field_bytes(1, tensor_type))     # name, TypeProto.tensor_type


def tiny_model(w) -> bytes:
    """y [1, 2] = x [1, 2] @ W [2, 2], opset 17, W inline as raw_data under "model.w"."""
    raw = struct.pack("<4f", *w)
    init = field_bytes(1, bytes([2, 2])) + field_varint(2, 1) + s(8, "model.w") + field_bytes(9, raw)
    other = field_varint(1, 1) + field_varint(2, 7) + s(8, "shape") + field_bytes(9, struct.pack("<q", 2))
    node = s(1, "x") + s(1, "model.w") + s(2, "y") + s(4, "MatMul")
    graph = (field_bytes(1, node) + s(2, "g") + field_bytes(5, init) + field_bytes(5, other)
             + field_bytes(11, value_info("x", [1, 2])) + field_bytes(12, value_info("y", [1, 2])))
    opset = s(1, "") + field_varint(2, 17)
    return field_varint(1, 8) + field_bytes(8, opset) + field_bytes(7, graph)


def test_float_parameters_move_out_and_the_rest_stays():
    w = [1.0, 2.0, 3.0, 4.0]
    model = tiny_model(w)
    out, entries, weights = externalize(model, {"w": None})
    assert entries == [{"name": "w", "onnx_name": "model.w", "dims": [2, 2], "offset": 0, "length": 16}]
    assert struct.unpack("<4f", weights) == tuple(w)
    graph = next(v for no, _, v, _ in fields(out) if no == 7)
    inits = [v for no, _, v, _ in fields(graph) if no == 5]
    assert len(inits) == 2
    moved = {no: v for no, _, v, _ in fields(inits[0])}
    assert 9 not in moved and moved[14] == 1, "raw_data gone, data_location EXTERNAL"
    ext = [dict((k, v.decode()) for k, _, v, _ in fields(e))
           for no, _, e, _ in fields(inits[0]) if no == 13]
    assert [(e[1], e[2]) for e in ext] == [("location", "weights.bin"), ("offset", "0"), ("length", "16")]
    assert inits[1] == field_varint(1, 1) + field_varint(2, 7) + field_bytes(8, b"shape") + \
        field_bytes(9, struct.pack("<q", 2)), "the int64 initializer is untouched"
    # nothing else changed: the model without W's data is the original minus 16 bytes + refs
    assert len(out) < len(model) + 80


if __name__ == "__main__":
    test_float_parameters_move_out_and_the_rest_stays()
    if len(sys.argv) > 1:
        d = Path(sys.argv[1])
        d.mkdir(parents=True, exist_ok=True)
        model = tiny_model([1.0, 2.0, 3.0, 4.0])
        out, _, weights = externalize(model, {"w": None})
        (d / "tiny.onnx").write_bytes(out)
        (d / "weights.bin").write_bytes(weights)
        (d / "tiny-inline.onnx").write_bytes(model)
    print("ok")
