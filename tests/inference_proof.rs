//! Proofs of inference end to end: for every fixture model the proven output
//! is the native fixed-point forward pass, and its proof bytes verify from the
//! bytes alone and are rejected after a changed output, a changed weight
//! commitment, a flipped byte, truncation or another format version; a
//! committed-weights proof does not verify against another model's
//! commitment.

use std::path::{Path, PathBuf};

use zkpot::circuits::infer::Visibility;
use zkpot::hex::{fp_from_hex, fp_to_hex};
use zkpot::infer::{verify_inferences, verify_inferences_timed, InferenceStatement, LoadedModel};
use zkpot::model::{quantize_input, read_inputs};
use zkpot::params::ParamsCache;
use zkpot::proof::{Envelope, ProofError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

fn inputs(name: &str, kind: &str) -> Vec<Vec<f64>> {
    read_inputs(&std::fs::read_to_string(fixture(&format!("{name}.{kind}.json"))).unwrap()).unwrap()
}

fn load(name: &str, secret: u8) -> LoadedModel {
    LoadedModel::load(
        &fixture(&format!("{name}.onnx")),
        &inputs(name, "calibration"),
        &[secret; 32],
    )
    .unwrap()
}

/// Proves the fixture's sample input and checks the proven output is the
/// native forward pass, verified from the bytes alone in a fresh verifier.
fn proves_its_native_output(cache: &ParamsCache, name: &str) {
    let loaded = load(name, 1);
    let x = inputs(name, "input").remove(0);
    let native = loaded
        .model
        .forward(&loaded.weights, &quantize_input(&loaded.model, &x).unwrap())
        .unwrap()
        .pop()
        .unwrap();
    let prover = loaded
        .keygen(cache, Visibility::Private, Visibility::Public)
        .unwrap();
    let p = prover.prove(&x).unwrap();
    assert_eq!(p.items[0].output, native, "{name}");
    let bytes = p.envelope.to_bytes();
    let (mut s, timing) =
        verify_inferences_timed(cache, &[Envelope::from_bytes(&bytes).unwrap()], false).unwrap();
    let s = s.remove(0);
    assert_eq!(s.output_values.as_ref(), Some(&native), "{name}");
    assert!(
        timing.keys > 0.0 && timing.check > 0.0,
        "{name}: {timing:?}"
    );
    tampering_is_rejected(cache, &p.envelope, name);
}

/// A changed output, a changed weight commitment, a flipped byte, a
/// truncated file and another format version are each rejected.
fn tampering_is_rejected(cache: &ParamsCache, good: &Envelope, name: &str) {
    let mut s = InferenceStatement::from_bytes(&good.statement).unwrap();
    if let Some(v) = s.output_values.as_mut() {
        v[0] += 1;
    }
    assert!(
        reject(cache, &relabeled(&s, good)),
        "{name}: changed output"
    );
    let mut s = InferenceStatement::from_bytes(&good.statement).unwrap();
    s.weights_commitment =
        fp_to_hex(&(fp_from_hex(&s.weights_commitment).unwrap() + zkpot::circuits::Fp::from(1)));
    assert!(reject(cache, &relabeled(&s, good)), "{name}: changed C_W");
    let bytes = good.to_bytes();
    let mut b = bytes.clone();
    b[bytes.len() - 100] ^= 1;
    assert!(reject(cache, &b), "{name}: flipped byte");
    assert!(
        reject(cache, &bytes[..bytes.len() - 1]),
        "{name}: truncated"
    );
    let mut v = bytes;
    for old in [1u8, 3, 4, 5] {
        v[8] = old;
        assert!(
            matches!(
                Envelope::from_bytes(&v),
                Err(ProofError::Version { found, .. }) if found == u16::from(old)
            ),
            "{name}: version {old}"
        );
    }
}

#[test]
fn small_models_prove_their_native_outputs() {
    let cache = ParamsCache::locate(None).unwrap();
    for name in ["mlp_4_16_3", "mlp_4_16_3_argmax", "cnn_8x8", "cnn_max_8x8"] {
        proves_its_native_output(&cache, name);
    }
}

/// The MNIST-sized MLP (101,770 committed weights, `k = 14`).
#[test]
fn the_mnist_sized_mlp_proves_its_native_output() {
    proves_its_native_output(&ParamsCache::locate(None).unwrap(), "mlp_784_128_10");
}

/// The bytes of a changed statement with another statement's proof: with the
/// public inputs it implies, or the original ones where it implies none.
fn relabeled(s: &InferenceStatement, good: &Envelope) -> Vec<u8> {
    let public = s
        .public_inputs()
        .unwrap_or_else(|_| good.public_inputs.clone());
    s.envelope(public, good.proof.clone()).unwrap().to_bytes()
}

fn reject(cache: &ParamsCache, bytes: &[u8]) -> bool {
    match Envelope::from_bytes(bytes) {
        Ok(e) => verify_inferences(cache, &[e]).is_err(),
        Err(_) => true,
    }
}

#[test]
fn tampered_inference_proofs_are_rejected() {
    let cache = ParamsCache::locate(None).unwrap();
    let loaded = load("mlp_4_16_3", 2);
    let prover = loaded
        .keygen(&cache, Visibility::Public, Visibility::Public)
        .unwrap();
    let x = inputs("mlp_4_16_3", "input").remove(0);
    let p = prover.prove(&x).unwrap();
    let good = p.envelope.clone();
    assert!(!reject(&cache, &good.to_bytes()));

    // A changed output, in the statement and the public inputs alike.
    let mut s = InferenceStatement::from_bytes(&good.statement).unwrap();
    if let Some(v) = s.output_values.as_mut() {
        v[0] += 1;
    }
    assert!(reject(&cache, &relabeled(&s, &good)), "changed output");
    // A changed output in the public inputs only.
    let mut e = good.clone();
    let last = e.public_inputs.len() - 1;
    e.public_inputs[last] += zkpot::circuits::Fp::from(1);
    assert!(matches!(
        verify_inferences(&cache, &[e]),
        Err(zkpot::Error::Proof(ProofError::Mismatch(_)))
    ));
    // A changed weight commitment.
    let mut s = InferenceStatement::from_bytes(&good.statement).unwrap();
    s.weights_commitment =
        fp_to_hex(&(fp_from_hex(&s.weights_commitment).unwrap() + zkpot::circuits::Fp::from(1)));
    assert!(reject(&cache, &relabeled(&s, &good)), "changed C_W");
    // Flipped proof bytes, truncation, another version.
    let bytes = good.to_bytes();
    for pos in [bytes.len() - 1, bytes.len() - 500, bytes.len() / 2] {
        let mut b = bytes.clone();
        b[pos] ^= 1;
        assert!(reject(&cache, &b), "flip at {pos}");
    }
    assert!(reject(&cache, &bytes[..bytes.len() - 1]), "truncated");
    let mut v = bytes.clone();
    v[8] = 1;
    assert!(matches!(
        Envelope::from_bytes(&v),
        Err(ProofError::Version { found: 1, .. })
    ));

    // Another model's weight commitment: the same architecture, other weights.
    let other = load("mlp_4_16_3", 3);
    let other_prover = other
        .keygen(&cache, Visibility::Public, Visibility::Public)
        .unwrap();
    let q = other_prover.prove(&x).unwrap();
    let mut s = InferenceStatement::from_bytes(&good.statement).unwrap();
    let theirs = InferenceStatement::from_bytes(&q.envelope.statement).unwrap();
    assert_ne!(
        s.weights_commitment, theirs.weights_commitment,
        "salts differ"
    );
    s.weights_commitment = theirs.weights_commitment;
    assert!(
        reject(&cache, &relabeled(&s, &good)),
        "another model's commitment"
    );
}

#[test]
fn bad_inputs_fail_before_proving() {
    let cache = ParamsCache::locate(None).unwrap();
    let prover = load("mlp_4_16_3", 4)
        .keygen(&cache, Visibility::Private, Visibility::Public)
        .unwrap();
    assert!(prover.prove(&[0.1, 0.2]).is_err(), "wrong shape");
    assert!(prover.prove(&[0.1, f64::NAN, 0.2, 0.3]).is_err(), "NaN");
    assert!(prover.prove(&[1e9, 0.0, 0.0, 0.0]).is_err(), "out of range");
}

#[test]
fn proofs_of_one_model_verify_in_a_batch() {
    let cache = ParamsCache::locate(None).unwrap();
    let prover = load("mlp_4_16_3", 5)
        .keygen(&cache, Visibility::Committed, Visibility::Committed)
        .unwrap();
    let xs = inputs("mlp_4_16_3", "calibration");
    let envelopes: Vec<Envelope> = xs[..3]
        .iter()
        .map(|x| prover.prove(x).unwrap().envelope)
        .collect();
    assert_eq!(verify_inferences(&cache, &envelopes).unwrap().len(), 3);
    // One bad proof in the batch is found and named.
    let mut bad = envelopes.clone();
    let n = bad[1].proof.len();
    bad[1].proof[n / 2] ^= 1;
    assert!(matches!(
        verify_inferences(&cache, &bad),
        Err(zkpot::Error::Proof(ProofError::InvalidAt { index: 1 }))
    ));
}

#[test]
fn oversized_statements_are_refused_before_any_work() {
    let cache = ParamsCache::locate(None).unwrap();
    let prover = load("mlp_4_16_3", 6)
        .keygen(&cache, Visibility::Private, Visibility::Public)
        .unwrap();
    let good = prover
        .prove(&inputs("mlp_4_16_3", "input").remove(0))
        .unwrap()
        .envelope;
    let mut v: serde_json::Value = serde_json::from_slice(&good.statement).unwrap();
    v["model"]["layers"][0]["inputs"] = serde_json::json!(1u64 << 40);
    let huge = Envelope {
        statement: serde_json::to_vec(&v).unwrap(),
        ..good
    };
    let err = verify_inferences(&cache, &[huge]).unwrap_err();
    assert!(
        matches!(
            &err,
            zkpot::Error::Envelope(zkpot::circuits::envelope::EnvelopeError::OutOfRange {
                field,
                value: 1_099_511_627_776,
                ..
            }) if field == "inputs of layer 0"
        ),
        "{err}"
    );
}
