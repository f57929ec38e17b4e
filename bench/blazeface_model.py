"""Makes a face_detection_full_range.tflite OpenCV's DNN can run from the mediapipe wheel's
face_detection_full_range_sparse.tflite (the experiment of bench/blazeface.py, whose docstring
says how it is called). Needs `flatbuffers` (pip) and numpy; not a dependency.

    python bench/blazeface_model.py mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl OUT
        [WIDTHxHEIGHT]

OpenCV's TFLite importer lacks two of the model's operators:
- DENSIFY: each sparse constant (float16, rows dense, last dimension CSR) is written out dense
  into the buffer of the DENSIFY's output, and the operator dropped;
- DEPTH_TO_SPACE (block 2), then RESHAPE, at the two heads: the graph is cut before them and
  ends with the two 24x24 maps, which blazeface._depth_to_space rearranges.
With WIDTHxHEIGHT (multiples of 32), the input is that size rather than 192x192: the network
is convolutional but for its three RESIZE_BILINEAR (feature-pyramid upsampling), whose output
sizes are constants, set here for that input.
The TFLite schema is read from the wheel itself (mediapipe/tasks/metadata/schema_py_generated.py).
"""

from __future__ import annotations

import sys
import types
import zipfile
from typing import Any

import flatbuffers  # type: ignore[import-not-found]
import numpy as np

SPARSE = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
SCHEMA = "mediapipe/tasks/metadata/schema_py_generated.py"


def main() -> None:
    wheel, out = sys.argv[1], sys.argv[2]
    width, height = (int(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "192x192").split("x"))
    with zipfile.ZipFile(wheel) as z:
        schema = types.ModuleType("schema_py_generated")
        exec(compile(z.read(SCHEMA), SCHEMA, "exec"), schema.__dict__)  # noqa: S102
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(z.read(SPARSE), 0))
    ops = schema.BuiltinOperator
    graph = model.subgraphs[0]

    def code(op: Any) -> int:
        found = model.operatorCodes[op.opcodeIndex]
        return int(max(found.builtinCode, found.deprecatedBuiltinCode))

    kept = []
    for op in graph.operators:
        if code(op) == ops.DENSIFY:
            densify(model, graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]])
        else:
            kept.append(op)
    heads = [op for op in kept if code(op) == ops.DEPTH_TO_SPACE]
    spread = {op.outputs[0] for op in heads}
    after = [op for op in kept if code(op) == ops.RESHAPE and op.inputs[0] in spread]
    dropped = {id(op) for op in heads + after}
    graph.outputs = np.array([op.inputs[0] for op in heads], np.int32)
    graph.operators = [op for op in kept if id(op) not in dropped]
    if (width, height) != (192, 192):
        for op in graph.operators:
            if code(op) == ops.RESIZE_BILINEAR:
                resize_to(model, graph.tensors[op.inputs[1]], width, height)
        graph.tensors[graph.inputs[0]].shape = np.array([1, height, width, 3], np.int32)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    with open(out, "wb") as f:
        f.write(builder.Output())


def resize_to(model: Any, size: Any, width: int, height: int) -> None:
    """The constant output size of an upsampling, for an input of width x height."""
    old = np.frombuffer(bytes(model.buffers[size.buffer].data), np.int32)
    stride = 192 // int(old[0])
    new = np.array([height // stride, width // stride], np.int32)
    buffer = type(model.buffers[0])()
    buffer.data = np.frombuffer(new.tobytes(), np.uint8)
    model.buffers.append(buffer)
    size.buffer = len(model.buffers) - 1


def densify(model: Any, sparse: Any, dense: Any) -> None:
    """Write the sparse constant out dense as the buffer of the DENSIFY's output."""
    meta = sparse.sparsity
    assert meta.blockMap is None and list(meta.traversalOrder) == list(range(len(sparse.shape)))
    assert [d.format for d in meta.dimMetadata] == [0] * (len(sparse.shape) - 1) + [1]
    dtype = {0: np.float32, 1: np.float16}[sparse.type]
    values = np.frombuffer(bytes(model.buffers[sparse.buffer].data), dtype)
    segments = np.asarray(meta.dimMetadata[-1].arraySegments.values)
    columns = np.asarray(meta.dimMetadata[-1].arrayIndices.values)
    rows = np.zeros((int(np.prod(sparse.shape[:-1])), int(sparse.shape[-1])), dtype)
    assert len(segments) == len(rows) + 1 and segments[-1] == len(values)
    for row, (start, end) in enumerate(zip(segments[:-1], segments[1:], strict=True)):
        rows[row, columns[start:end]] = values[start:end]
    buffer = type(model.buffers[0])()
    buffer.data = np.frombuffer(rows.tobytes(), np.uint8)
    model.buffers.append(buffer)
    dense.buffer, dense.type = len(model.buffers) - 1, sparse.type


if __name__ == "__main__":
    main()
