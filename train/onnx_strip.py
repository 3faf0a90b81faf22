"""Move an ONNX model's parameters out of the graph into external data, in pure Python
(no `onnx` package: the GPU machine may not have it). Used by export_onnx.py.

Only the few protobuf fields involved are read (field numbers of onnx.proto):
ModelProto.graph = 7; GraphProto.initializer = 5; TensorProto: dims = 1, data_type = 2,
float_data = 4, name = 8, raw_data = 9, external_data = 13 (StringStringEntryProto:
key = 1, value = 2), data_location = 14 (EXTERNAL = 1). Every other field is copied as is.
"""

from __future__ import annotations

FLOAT = 1
ALIGN = 64
LOCATION = "weights.bin"


def read_varint(b: bytes, i: int) -> tuple[int, int]:
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def fields(b: bytes):
    """(field number, wire type, value: int or bytes, the field's raw encoding)."""
    i = 0
    while i < len(b):
        start = i
        key, i = read_varint(b, i)
        no, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wt} (field {no}) is not supported")
        yield no, wt, v, b[start:i]


def field_bytes(no: int, payload: bytes) -> bytes:
    return varint(no << 3 | 2) + varint(len(payload)) + payload


def field_varint(no: int, v: int) -> bytes:
    return varint(no << 3) + varint(v)


def _tensor(b: bytes, params: dict, weights: bytearray, entries: list) -> bytes:
    """One initializer: external when it is a float parameter of `params`."""
    name, dtype, data, dims = None, None, None, []
    for no, wt, v, _ in fields(b):
        if no == 8:
            name = v.decode()
        elif no == 2:
            dtype = v
        elif no in (4, 9) and wt == 2:
            data = v
        elif no == 1:
            if wt == 0:
                dims.append(v)
            else:
                j = 0
                while j < len(v):
                    d, j = read_varint(v, j)
                    dims.append(d)
    key = name[len("model."):] if name and name.startswith("model.") else name
    if key not in params or dtype != FLOAT or data is None:
        return b
    offset = -(-len(weights) // ALIGN) * ALIGN
    weights.extend(b"\0" * (offset - len(weights)))
    weights.extend(data)
    entries.append({"name": key, "onnx_name": name, "dims": dims, "offset": offset, "length": len(data)})
    kept = b"".join(raw for no, _, _, raw in fields(b) if no not in (4, 9, 13, 14))
    ext = b"".join(
        field_bytes(13, field_bytes(1, k.encode()) + field_bytes(2, str(v).encode()))
        for k, v in (("location", LOCATION), ("offset", offset), ("length", len(data)))
    )
    return kept + ext + field_varint(14, 1)


def externalize(model: bytes, params: dict) -> tuple[bytes, list, bytes]:
    """(the model with every float initializer named in `params` (optionally prefixed
    "model.") moved to `weights.bin`, [{name, onnx_name, dims, offset, length}], the bytes of
    weights.bin)."""
    weights, entries = bytearray(), []
    out = bytearray()
    for no, wt, v, raw in fields(model):
        if no != 7 or wt != 2:
            out += raw
            continue
        graph = bytearray()
        for gno, gwt, gv, graw in fields(v):
            if gno == 5 and gwt == 2:
                graph += field_bytes(5, _tensor(gv, params, weights, entries))
            else:
                graph += graw
        out += field_bytes(7, bytes(graph))
    return bytes(out), entries, bytes(weights)
