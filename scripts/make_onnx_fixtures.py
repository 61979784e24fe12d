#!/usr/bin/env python3
"""Regenerates the ONNX fixtures in fixtures/models (needs `pip install onnx numpy`).

- mlp_4_16_3.onnx: Gemm-ReLU-Gemm, trained on iris (min-max normalized inputs);
- mlp_4_16_3_argmax.onnx: the same ending in ArgMax (the class);
- mlp_784_128_10.onnx: MatMul+Add-ReLU-MatMul+Add, Glorot-initialized (an
  MNIST-sized MLP for benchmarks; no MNIST data is bundled);
- cnn_8x8.onnx: Conv(1->4, 3x3, pad 1)-ReLU-AveragePool(2x2)-Flatten-Gemm(64->10),
  Glorot-initialized, on 8x8 inputs;
- cnn_max_8x8.onnx: the same with MaxPool(2x2) in place of AveragePool.

Each model comes with <name>.input.json ({"input_data": [[...]]}) and
<name>.calibration.json (a few inputs). Opset 13. Deterministic (fixed seeds).
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "models")
IRIS = os.path.join(HERE, "..", "fixtures", "iris.csv")


def glorot(rng, fan_in, fan_out, shape):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def save(model, name, inputs, calibration):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    with open(os.path.join(OUT, name + ".input.json"), "w") as f:
        json.dump({"input_data": [np.asarray(inputs).reshape(-1).round(6).tolist()]}, f)
    with open(os.path.join(OUT, name + ".calibration.json"), "w") as f:
        json.dump({"input_data": [np.asarray(c).reshape(-1).round(6).tolist() for c in calibration]}, f)


def iris():
    rows = [l.strip().split(",") for l in open(IRIS).read().strip().splitlines()[1:]]
    x = np.array([[float(v) for v in r[:4]] for r in rows], dtype=np.float32)
    y = np.array([int(r[4]) for r in rows])
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    return x, y


def mlp_4_16_3():
    rng = np.random.default_rng(1)
    x, y = iris()
    w1, b1 = glorot(rng, 4, 16, (16, 4)), np.zeros(16, np.float32)
    w2, b2 = glorot(rng, 16, 3, (3, 16)), np.zeros(3, np.float32)
    onehot = np.eye(3, dtype=np.float32)[y]
    for _ in range(400):
        h = np.maximum(x @ w1.T + b1, 0)
        z = h @ w2.T + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - onehot) / len(x)
        dw2, db2 = dz.T @ h, dz.sum(0)
        dh = (dz @ w2) * (h > 0)
        dw1, db1 = dh.T @ x, dh.sum(0)
        for p_, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)):
            p_ -= 0.5 * g
    acc = ((np.maximum(x @ w1.T + b1, 0) @ w2.T + b2).argmax(1) == y).mean()
    print("mlp_4_16_3 train accuracy", acc)
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h1"], transB=1, name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["output"], transB=1, name="fc2"),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    graph = helper.make_graph(
        nodes, "mlp_4_16_3",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save(model, "mlp_4_16_3", x[0], x[::15])
    # The same network ending in the predicted class.
    nodes[-1] = helper.make_node("Gemm", ["a1", "w2", "b2"], ["logits"], transB=1, name="fc2")
    nodes.append(helper.make_node("ArgMax", ["logits"], ["output"], axis=1, keepdims=0, name="argmax"))
    graph = helper.make_graph(
        nodes, "mlp_4_16_3_argmax",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("output", TensorProto.INT64, [1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    save(model, "mlp_4_16_3_argmax", x[0], x[::15])


def mlp_784_128_10():
    rng = np.random.default_rng(2)
    w1, b1 = glorot(rng, 784, 128, (784, 128)), rng.uniform(-0.1, 0.1, 128).astype(np.float32)
    w2, b2 = glorot(rng, 128, 10, (128, 10)), rng.uniform(-0.1, 0.1, 10).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["input", "w1"], ["m1"], name="matmul1"),
        helper.make_node("Add", ["m1", "b1"], ["h1"], name="add1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("MatMul", ["a1", "w2"], ["m2"], name="matmul2"),
        helper.make_node("Add", ["m2", "b2"], ["output"], name="add2"),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
    graph = helper.make_graph(
        nodes, "mlp_784_128_10",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 784])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    xs = rng.uniform(0, 1, (6, 784)).astype(np.float32)
    save(model, "mlp_784_128_10", xs[0], xs[1:])


def cnn_8x8(pool="AveragePool", name="cnn_8x8"):
    rng = np.random.default_rng(3)
    wc, bc = glorot(rng, 9, 36, (4, 1, 3, 3)), np.zeros(4, np.float32)
    wf, bf = glorot(rng, 64, 10, (10, 64)), np.zeros(10, np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "wc", "bc"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(pool, ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
        helper.make_node("Flatten", ["p1"], ["f1"], axis=1, name="flatten1"),
        helper.make_node("Gemm", ["f1", "wf", "bf"], ["output"], transB=1, name="fc1"),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((wc, "wc"), (bc, "bc"), (wf, "wf"), (bf, "bf"))]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    xs = rng.uniform(0, 1, (6, 64)).astype(np.float32)
    save(model, name, xs[0], xs[1:])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    mlp_4_16_3()
    mlp_784_128_10()
    cnn_8x8()
    cnn_8x8("MaxPool", "cnn_max_8x8")
