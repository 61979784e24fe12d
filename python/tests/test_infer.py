import json
import shutil

import numpy as np
import pytest

import zkpot
from conftest import ROOT, TRAIN

MODELS = ROOT / "fixtures" / "models"


def test_onnx_inference_on_numpy_input(tmp_path):
    model = tmp_path / "mlp.onnx"
    shutil.copy(MODELS / "mlp_4_16_3.onnx", model)
    x = np.array(json.loads((MODELS / "mlp_4_16_3.input.json").read_text())["input_data"][0])
    cal = np.array(json.loads((MODELS / "mlp_4_16_3.calibration.json").read_text())["input_data"])
    o = zkpot.infer(model, x, out=tmp_path / "p.zkpot", calibration=cal)
    assert o["class"] == int(np.argmax(o.output))
    assert (tmp_path / "mlp.zkpot-secret").exists(), "a new weight secret is kept"
    v = zkpot.verify(tmp_path / "p.zkpot")
    assert v.kind == "inference"
    bad = bytearray((tmp_path / "p.zkpot").read_bytes())
    bad[-50] ^= 1
    (tmp_path / "bad.zkpot").write_bytes(bytes(bad))
    with pytest.raises(zkpot.VerificationError):
        zkpot.verify(tmp_path / "bad.zkpot")
    with pytest.raises(zkpot.InputError, match="element 1"):
        zkpot.infer(model, np.array([1.0, np.inf, 0.0, 0.0]), out=tmp_path / "q.zkpot")
    with pytest.raises(zkpot.InputError, match="shape"):
        zkpot.infer(model, np.zeros((2, 2, 4)), out=tmp_path / "q.zkpot")
    with pytest.raises(zkpot.InputError):
        zkpot.infer(model, np.zeros((2, 5)), out=tmp_path / "q.zkpot", calibration=cal)
    assert not (tmp_path / "q.zkpot").exists()


def test_a_batch_of_inputs_is_one_proof(tmp_path):
    model = tmp_path / "mlp.onnx"
    shutil.copy(MODELS / "mlp_4_16_3.onnx", model)
    cal = np.array(json.loads((MODELS / "mlp_4_16_3.calibration.json").read_text())["input_data"])
    xs = cal[:3]
    o = zkpot.infer(model, xs, out=tmp_path / "b.zkpot", calibration=cal)
    assert len(o.results) == 3
    for r in o.results:
        assert r["class"] == int(np.argmax(r["output"]))
    assert o["class"] == o.results[0]["class"]
    assert o.prove_per_input_s > 0
    # Each row proven alone gives the same class as in the batch.
    one = zkpot.infer(model, xs[1], out=tmp_path / "one.zkpot", calibration=cal)
    assert one["class"] == o.results[1]["class"]
    assert zkpot.verify(tmp_path / "b.zkpot").kind == "inference"


def test_inference_of_a_trained_run_links_to_it(iris_dir, tmp_path):
    run = zkpot.train(iris_dir, tmp_path / "run", release_weights=False, **TRAIN)
    o = zkpot.infer(run, [5.1, 3.5, 1.4, 0.2], out=tmp_path / "i.zkpot")
    assert 0 <= o["class"] < 3
    assert zkpot.verify(run, tmp_path / "i.zkpot").kind == "linked_inference"
    # The run's model exported as ONNX and proven as a deployed file, linked
    # to the run; a file with one weight changed is refused.
    e = zkpot.export_model(run, tmp_path / "model.onnx")
    assert e.bytes > 0 and e.weights_commitment
    o2 = zkpot.infer(tmp_path / "model.onnx", [5.1, 3.5, 1.4, 0.2], run=run, out=tmp_path / "d.zkpot")
    assert o2["class"] == o["class"]
    assert zkpot.verify(run, tmp_path / "d.zkpot").kind == "linked_inference"
    with pytest.raises(zkpot.InputError):
        zkpot.infer(MODELS / "mlp_4_16_3.onnx", [5.1, 3.5, 1.4, 0.2], run=run, out=tmp_path / "x.zkpot")
    assert not (tmp_path / "x.zkpot").exists()


def test_a_scikit_learn_export_proves_with_its_label(tmp_path):
    ex = MODELS / "exporters"
    model = tmp_path / "sk.onnx"
    shutil.copy(ex / "sk_pipeline_wine.onnx", model)
    rows = np.array(json.loads((ex / "sk_pipeline_wine.calibration.json").read_text())["input_data"])
    ref = json.loads((ex / "sk_pipeline_wine.reference.json").read_text())
    o = zkpot.infer(model, rows[0], out=tmp_path / "p.zkpot", calibration=rows)
    assert o["class"] == ref["class"][0]
    assert o["label"] == ref["label"][0]
    assert any("preprocessing" in n for n in o["notes"])
    assert zkpot.verify(tmp_path / "p.zkpot").kind == "inference"


def test_the_exported_model_runs_in_onnxruntime_as_proven(iris_dir, tmp_path):
    # The deployed file, run by another runtime on every dataset row, gives
    # the class of the run's native fixed-point model, which is the class
    # an inference proof shows.
    ort = pytest.importorskip("onnxruntime")
    # Trained long enough to be decisive (a barely trained model has near
    # ties, where float and fixed-point rounding may pick different
    # classes); its steps are not proven here.
    opts = dict(TRAIN, steps=60, batch=8, prove_later=True)
    run = zkpot.train(iris_dir, tmp_path / "run", release_weights=False, **opts)
    zkpot.export_model(run, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    raw = (ROOT / "fixtures" / "iris.csv").read_text().splitlines()[1:]
    X = np.array([[float(v) for v in line.split(",")[:4]] for line in raw if line])
    native = zkpot.predict(run, X)
    assert native.shape == (len(X),)
    deployed = [int(np.argmax(session.run(None, {name: x[None, :].astype(np.float32)})[0])) for x in X]
    assert deployed == native.tolist()
    for i in (0, 75):
        proven = zkpot.infer(run, X[i], out=tmp_path / f"r{i}.zkpot")
        assert proven["class"] == native[i]
    with pytest.raises(zkpot.InputError):
        zkpot.predict(run, np.zeros((2, 3)))
