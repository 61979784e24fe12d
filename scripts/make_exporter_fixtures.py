#!/usr/bin/env python3
"""Builds the exporter fixtures in fixtures/models/exporters: models written
the ways people export them, with onnxruntime's reference outputs.

Needs `pip install scikit-learn skl2onnx onnx onnxruntime numpy` (not needed to
build or test zkpot: the files are committed). Deterministic (fixed seeds).

scikit-learn + skl2onnx (`to_onnx(model, X, options={"zipmap": False})`):
- sk_mlp_iris: MLPClassifier(16) on iris (Cast, MatMul/Add, Relu, Softmax,
  ArgMax -> ArrayFeatureExtractor over the labels -> Reshape -> Cast);
- sk_mlp_binary_wine: Pipeline(StandardScaler, MLPClassifier(8)) on wine, class 0
  against the rest
  (Sigmoid head, probabilities as Concat(1 - p, p));
- sk_logreg_iris: LogisticRegression (ai.onnx.ml LinearClassifier + Normalizer);
- sk_pipeline_wine: Pipeline(StandardScaler, LogisticRegression) (Scaler);
- sk_pipeline_mlp_digits: Pipeline(StandardScaler, MLPClassifier(32)) on
  digits 8x8, string labels.

PyTorch export patterns, written with onnx.helper in the node layout that
torch.onnx.export (TorchScript exporter, torch 2.1-2.4, opset 17) writes,
since torch itself is not installed here:
- torch_cnn_bn_digits: Conv -> BatchNormalization -> Relu -> MaxPool ->
  x.view(x.size(0), -1) (Shape/Gather/Unsqueeze/Concat/Reshape) -> Dropout ->
  Gemm(transB=1) -> LogSoftmax, on 1x8x8 digits; the convolution random, the
  batch norm statistics from the data, the head fitted by ridge regression;
- torch_mlp_norm_iris: (x - mean) / std as Sub/Div constants -> Gemm ->
  Relu -> Gemm -> Softmax, on iris (weights from an MLPClassifier);
- torch_cnn_pad_gap_digits: nn.ZeroPad2d(1) (Pad) -> Conv(pad 0) -> Relu ->
  GlobalAveragePool -> Flatten -> Gemm, on digits;
- torch_mlp_tanh_leaky_wine: Sub/Div -> Gemm -> Tanh -> Gemm -> LeakyRelu(0.01)
  -> Gemm, on wine (weights from a tanh MLPClassifier);
- torch_mlp_relu6_iris: Sub/Div -> Gemm -> Clip(0, 6) (nn.ReLU6) -> Gemm, on iris.

Each <name>.onnx comes with <name>.calibration.json ({"input_data": raw rows})
and <name>.reference.json: onnxruntime's class index for every row
("class"), the label it outputs ("label", when the model has one) and the
logits before the head ("logits", from onnxruntime on the same graph with
that tensor added as an output).
"""
import csv
import gzip
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "fixtures", "models", "exporters")
ROWS = 48  # calibration rows per model


def load_bundled(name, opener=open):
    """A bundled dataset: rows of features then the class index, after a
    header `n_rows,n_features,classes...` (iris, wine) or none (digits)."""
    with opener(os.path.join(ROOT, "fixtures", name), "rt") as f:
        rows = [row for row in csv.reader(f) if row]
    if not all(c.replace(".", "").isdigit() for c in rows[0]):
        rows = rows[1:]  # a named header
    elif len(rows[0]) != len(rows[1]):
        rows = rows[1:]  # the bundled `n_rows,n_features,classes` header
    a = np.array([list(map(float, r)) for r in rows])
    return a[:, :-1].astype(np.float32), a[:, -1].astype(np.int64), None


def pick(X, y, seed):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(X))[:ROWS]
    return X[idx], y[idx]


def with_output(model, tensor):
    """A copy of `model` that also outputs `tensor` (for reference logits)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    return m


def reference(model, X, logits):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = sess.run(None, {name: X})
    names = [o.name for o in sess.get_outputs()]
    ref = {}
    if logits is not None:
        s2 = ort.InferenceSession(with_output(model, logits).SerializeToString(),
                                  providers=["CPUExecutionProvider"])
        ref["logits"] = s2.run([logits], {name: X})[0].reshape(len(X), -1).astype(float).tolist()
    return outs, names, ref


def save(model, name, X, ref):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    with open(os.path.join(OUT, name + ".calibration.json"), "w") as f:
        json.dump({"input_data": [x.reshape(-1).astype(float).tolist() for x in X]}, f)
    with open(os.path.join(OUT, name + ".reference.json"), "w") as f:
        json.dump(ref, f)
    print(f"{name}: {len(model.graph.node)} nodes, classes {sorted(set(ref['class']))}")


def sklearn_fixture(name, clf, X, y, logits, labels=None):
    clf.fit(X, y)
    model = to_onnx(clf, X[:1], options={"zipmap": False}, target_opset={"": 17, "ai.onnx.ml": 3})
    Xc, _ = pick(X, y, 7)
    outs, names, ref = reference(model, Xc, logits)
    label = outs[names.index("label")].reshape(-1)
    classes = list(clf.classes_)
    ref["class"] = [classes.index(v) for v in label.tolist()]
    ref["label"] = [str(v) for v in label.tolist()]
    ref["labels"] = [str(c) for c in classes]
    save(model, name, Xc, ref)


def torch_names(prefix):
    """PyTorch's exporter names nodes by module path: /fc1/Gemm, ..."""
    return lambda op, i="": f"/{prefix}/{op}{i}"


def torch_cnn_bn(X, y):
    rng = np.random.default_rng(11)
    Xi = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    w = (rng.standard_normal((4, 1, 3, 3)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    # Conv forward in numpy for the batch-norm statistics.
    pad = np.pad(Xi, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((len(Xi), 4, 8, 8), np.float32)
    for oc in range(4):
        for ky in range(3):
            for kx in range(3):
                conv[:, oc] += w[oc, 0, ky, kx] * pad[:, 0, ky:ky + 8, kx:kx + 8]
        conv[:, oc] += b[oc]
    mean, var = conv.mean(axis=(0, 2, 3)), conv.var(axis=(0, 2, 3)) + 0.01
    gamma = (1.0 + 0.1 * rng.standard_normal(4)).astype(np.float32)
    beta = (0.1 * rng.standard_normal(4)).astype(np.float32)
    eps = 1e-5
    bn = (conv - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps)
    bn = bn * gamma[None, :, None, None] + beta[None, :, None, None]
    act = np.maximum(bn, 0).reshape(len(Xi), 4, 4, 2, 4, 2).max(axis=(3, 5)).reshape(len(Xi), -1)
    # Ridge regression of one-hot labels on the pooled features.
    A = np.hstack([act, np.ones((len(act), 1))])
    Y = np.eye(10)[y]
    sol = np.linalg.solve(A.T @ A + 1.0 * np.eye(A.shape[1]), A.T @ Y)
    fc_w = sol[:-1].T.astype(np.float32)  # 10 x 64, as nn.Linear stores it
    fc_b = sol[-1].astype(np.float32)
    print("torch_cnn_bn_digits train accuracy", float(((A @ sol).argmax(1) == y).mean()))
    n = torch_names("conv")
    inits = [
        numpy_helper.from_array(w, "conv.weight"),
        numpy_helper.from_array(b, "conv.bias"),
        numpy_helper.from_array(gamma, "bn.weight"),
        numpy_helper.from_array(beta, "bn.bias"),
        numpy_helper.from_array(mean.astype(np.float32), "bn.running_mean"),
        numpy_helper.from_array(var.astype(np.float32), "bn.running_var"),
        numpy_helper.from_array(fc_w, "fc.weight"),
        numpy_helper.from_array(fc_b, "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"],
                         name="/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
                         dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization",
                         ["/conv/Conv_output_0", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["/bn/BatchNormalization_output_0"], name="/bn/BatchNormalization",
                         epsilon=eps, momentum=0.9),
        helper.make_node("Relu", ["/bn/BatchNormalization_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["/relu/Relu_output_0"], ["/pool/MaxPool_output_0"], name="/pool/MaxPool",
                         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0),
        # x.view(x.size(0), -1)
        helper.make_node("Shape", ["/pool/MaxPool_output_0"], ["/Shape_output_0"], name="/Shape"),
        helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant",
                         value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"],
                         name="/Gather", axis=0),
        helper.make_node("Constant", [], ["/Constant_1_output_0"], name="/Constant_1",
                         value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"],
                         name="/Unsqueeze"),
        helper.make_node("Constant", [], ["/Constant_2_output_0"], name="/Constant_2",
                         value=numpy_helper.from_array(np.array([-1], np.int64))),
        helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"],
                         name="/Concat", axis=0),
        helper.make_node("Reshape", ["/pool/MaxPool_output_0", "/Concat_output_0"], ["/Reshape_output_0"],
                         name="/Reshape"),
        helper.make_node("Dropout", ["/Reshape_output_0"], ["/dropout/Dropout_output_0"], name="/dropout/Dropout"),
        helper.make_node("Gemm", ["/dropout/Dropout_output_0", "fc.weight", "fc.bias"], ["/fc/Gemm_output_0"],
                         name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("LogSoftmax", ["/fc/Gemm_output_0"], ["output"], name="/LogSoftmax", axis=1),
    ]
    del n
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 10])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.1.0")
    model.ir_version = 8
    return model, Xi


def torch_mlp_norm(X, y):
    clf = MLPClassifier((16,), max_iter=2000, random_state=1).fit((X - X.mean(0)) / X.std(0), y)
    mean, std = X.mean(0).astype(np.float32), X.std(0).astype(np.float32)
    inits = [
        numpy_helper.from_array(mean.reshape(1, 4), "mean"),
        numpy_helper.from_array(std.reshape(1, 4), "std"),
        numpy_helper.from_array(clf.coefs_[0].T.astype(np.float32), "fc1.weight"),
        numpy_helper.from_array(clf.intercepts_[0].astype(np.float32), "fc1.bias"),
        numpy_helper.from_array(clf.coefs_[1].T.astype(np.float32), "fc2.weight"),
        numpy_helper.from_array(clf.intercepts_[1].astype(np.float32), "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["/Sub_output_0"], name="/Sub"),
        helper.make_node("Div", ["/Sub_output_0", "std"], ["/Div_output_0"], name="/Div"),
        helper.make_node("Gemm", ["/Div_output_0", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"],
                         name="/fc1/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("Gemm", ["/relu/Relu_output_0", "fc2.weight", "fc2.bias"], ["/fc2/Gemm_output_0"],
                         name="/fc2/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["/fc2/Gemm_output_0"], ["output"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 3])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.1.0")
    model.ir_version = 8
    return model


def torch_cnn_pad_gap(X, y):
    rng = np.random.default_rng(5)
    Xi = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    c = 16
    w = (rng.standard_normal((c, 1, 3, 3)) * 0.6).astype(np.float32)
    b = (rng.standard_normal(c) * 0.1).astype(np.float32)
    pad = np.pad(Xi, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((len(Xi), c, 8, 8), np.float32)
    for oc in range(c):
        for ky in range(3):
            for kx in range(3):
                conv[:, oc] += w[oc, 0, ky, kx] * pad[:, 0, ky:ky + 8, kx:kx + 8]
        conv[:, oc] += b[oc]
    feats = np.maximum(conv, 0).mean(axis=(2, 3))
    A = np.hstack([feats, np.ones((len(feats), 1))])
    sol = np.linalg.solve(A.T @ A + 3.0 * np.eye(A.shape[1]), A.T @ np.eye(10)[y])
    print("torch_cnn_pad_gap_digits train accuracy", float(((A @ sol).argmax(1) == y).mean()),
          "largest weight", float(np.abs(sol).max()))
    inits = [
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        numpy_helper.from_array(w, "conv.weight"),
        numpy_helper.from_array(b, "conv.bias"),
        numpy_helper.from_array(sol[:-1].T.astype(np.float32), "fc.weight"),
        numpy_helper.from_array(sol[-1].astype(np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Pad", ["input", "pads"], ["/pad/Pad_output_0"], name="/pad/Pad", mode="constant"),
        helper.make_node("Conv", ["/pad/Pad_output_0", "conv.weight", "conv.bias"], ["/conv/Conv_output_0"],
                         name="/conv/Conv", kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[1, 1]),
        helper.make_node("Relu", ["/conv/Conv_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["/relu/Relu_output_0"], ["/gap/GlobalAveragePool_output_0"],
                         name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["/gap/GlobalAveragePool_output_0"], ["/Flatten_output_0"],
                         name="/Flatten", axis=1),
        helper.make_node("Gemm", ["/Flatten_output_0", "fc.weight", "fc.bias"], ["output"],
                         name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1),
    ]
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", 1, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", 10])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.1.0")
    model.ir_version = 8
    return model, Xi


def torch_mlp_acts(X, y, acts, hidden, activation, seed):
    """(x - mean) / std -> Gemm -> act -> Gemm -> act ... -> Gemm, weights from
    an MLPClassifier trained with `activation`; `acts` are (op, attrs, extra
    constant inputs) in PyTorch's export form (Tanh, LeakyRelu, Clip)."""
    mean, std = X.mean(0), X.std(0)
    clf = MLPClassifier(hidden, activation=activation, max_iter=3000, random_state=seed)
    clf.fit((X - mean) / std, y)
    inits = [
        numpy_helper.from_array(mean.astype(np.float32).reshape(1, -1), "mean"),
        numpy_helper.from_array(std.astype(np.float32).reshape(1, -1), "std"),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["/Sub_output_0"], name="/Sub"),
        helper.make_node("Div", ["/Sub_output_0", "std"], ["/Div_output_0"], name="/Div"),
    ]
    cur = "/Div_output_0"
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        inits += [numpy_helper.from_array(W.T.astype(np.float32), f"fc{i}.weight"),
                  numpy_helper.from_array(b.astype(np.float32), f"fc{i}.bias")]
        out = "output" if i == len(clf.coefs_) - 1 else f"/fc{i}/Gemm_output_0"
        nodes.append(helper.make_node("Gemm", [cur, f"fc{i}.weight", f"fc{i}.bias"], [out],
                                      name=f"/fc{i}/Gemm", alpha=1.0, beta=1.0, transB=1))
        cur = out
        if i < len(acts):
            op, attrs, extra = acts[i]
            names = [cur]
            for j, v in enumerate(extra):
                cname = f"/act{i}/Constant_{j}_output_0"
                nodes.append(helper.make_node("Constant", [], [cname], name=f"/act{i}/Constant_{j}",
                                              value=numpy_helper.from_array(np.array(v, np.float32))))
                names.append(cname)
            out = f"/act{i}/{op}_output_0"
            nodes.append(helper.make_node(op, names, [out], name=f"/act{i}/{op}", **attrs))
            cur = out
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", X.shape[1]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", len(clf.classes_)])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="pytorch", producer_version="2.1.0")
    model.ir_version = 8
    return model


def torch_fixture(name, model, X, y, logits):
    Xc, _ = pick(X, y, 7)
    outs, _, ref = reference(model, Xc, logits)
    ref["class"] = outs[0].reshape(len(Xc), -1).argmax(1).tolist()
    save(model, name, Xc, ref)


def main():
    os.makedirs(OUT, exist_ok=True)
    iris_X, iris_y, _ = load_bundled("iris.csv")
    wine_X, wine_y, _ = load_bundled("wine_data.csv")
    dig_X, dig_y, _ = load_bundled("digits.csv.gz", gzip.open)
    sklearn_fixture("sk_mlp_iris", MLPClassifier((16,), max_iter=2000, random_state=0),
                    iris_X, iris_y, "add_result1")
    wine_bin = (wine_y == 0).astype(np.int64)
    sklearn_fixture("sk_mlp_binary_wine",
                    make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=2000, random_state=0)),
                    wine_X, wine_bin, "add_result1")
    sklearn_fixture("sk_logreg_iris", LogisticRegression(max_iter=2000), iris_X, iris_y, None)
    sklearn_fixture("sk_pipeline_wine", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                    wine_X, wine_y, None)
    names = np.array([f"digit_{d}" for d in range(10)])
    sklearn_fixture("sk_pipeline_mlp_digits",
                    make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=400, random_state=0)),
                    dig_X, names[dig_y], "add_result1")
    model, Xi = torch_cnn_bn(dig_X, dig_y)
    torch_fixture("torch_cnn_bn_digits", model, Xi, dig_y, "/fc/Gemm_output_0")
    torch_fixture("torch_mlp_norm_iris", torch_mlp_norm(iris_X, iris_y), iris_X, iris_y, "/fc2/Gemm_output_0")
    model, Xi = torch_cnn_pad_gap(dig_X, dig_y)
    torch_fixture("torch_cnn_pad_gap_digits", model, Xi, dig_y, "output")
    # nn.Tanh and nn.LeakyRelu(0.01), and nn.ReLU6 (exported as Clip(0, 6)).
    model = torch_mlp_acts(wine_X, wine_y, [("Tanh", {}, []), ("LeakyRelu", {"alpha": 0.01}, [])],
                           (16, 16), "tanh", 2)
    torch_fixture("torch_mlp_tanh_leaky_wine", model, wine_X, wine_y, "output")
    model = torch_mlp_acts(iris_X, iris_y, [("Clip", {}, [0.0, 6.0])], (16,), "relu", 3)
    torch_fixture("torch_mlp_relu6_iris", model, iris_X, iris_y, "output")


if __name__ == "__main__":
    main()
