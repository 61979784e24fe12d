//! Real halo2 proofs of a dense layer: created, verified, and rejected after a
//! changed public input or a flipped proof byte. Also pins the verifying key so
//! a silent circuit change fails a test.

mod common;

use zkpot::circuits::circuits::dense::{DenseBenchCircuit, DenseWitness};
use zkpot::circuits::fixed::{Activation, DenseSpec, QFormat, QTensor};
use zkpot::circuits::proving::{prove, proving_key, verify, verify_batch};
use zkpot::circuits::Fp;
use zkpot::params::ParamsCache;

fn circuit(seed: i64) -> DenseBenchCircuit {
    let f = QFormat::new(5, 9).unwrap();
    let spec = DenseSpec {
        inputs: 16,
        outputs: 8,
        input_format: f,
        weight_format: f,
        output_format: f,
        activation: Some(Activation::Relu),
    };
    let x = (0..16).map(|i| (i * 5 + seed) % 40 - 10).collect();
    let w = (0..128).map(|i| (i * 7 + seed) % 13 - 6).collect();
    let b = (0..8).map(|i| i * 31 - 100).collect();
    let witness = DenseWitness {
        x: QTensor::from_vec(&[1, 16], x, f, "x").unwrap(),
        w: QTensor::from_vec(&[8, 16], w, f, "w").unwrap(),
        bias: Some(QTensor::from_vec(&[8], b, spec.bias_format().unwrap(), "b").unwrap()),
    };
    DenseBenchCircuit::new(spec, 1, true, 8, Some(witness)).unwrap()
}

#[test]
fn dense_layer_proof_verifies_and_rejects_tampering() {
    let c = circuit(3);
    let k = c.k().unwrap();
    let cache = ParamsCache::locate(None).unwrap();
    let params = cache.get(k).unwrap();
    let pk = proving_key(&params, &c.describe()).unwrap();
    let public = c.public_inputs().unwrap();
    let proof = prove(&params, &pk, c.clone(), &public).unwrap();
    assert!(verify(&params, pk.get_vk(), &public, &proof).is_ok());

    // A changed public input (one output) is rejected.
    let mut changed = public.clone();
    let last = changed.len() - 1;
    changed[last] += Fp::from(1);
    assert!(verify(&params, pk.get_vk(), &changed, &proof).is_err());

    // A changed input row is rejected too.
    let mut changed = public.clone();
    changed[0] += Fp::from(1);
    assert!(verify(&params, pk.get_vk(), &changed, &proof).is_err());

    // Any single flipped byte is rejected: try several positions across the proof.
    for pos in (0..proof.len())
        .step_by(proof.len() / 7 + 1)
        .chain([proof.len() - 1])
    {
        let mut bad = proof.clone();
        bad[pos] ^= 0x01;
        assert!(
            verify(&params, pk.get_vk(), &public, &bad).is_err(),
            "flip at byte {pos} accepted"
        );
    }
    // A truncated proof is rejected.
    assert!(verify(&params, pk.get_vk(), &public, &proof[..proof.len() - 1]).is_err());

    // Two proofs of the same circuit verify together; a bad one spoils the batch.
    let c2 = circuit(5);
    let public2 = c2.public_inputs().unwrap();
    let proof2 = prove(&params, &pk, c2, &public2).unwrap();
    assert!(verify_batch(
        &params,
        pk.get_vk(),
        &[
            (public.clone(), proof.clone()),
            (public2.clone(), proof2.clone())
        ]
    ));
    assert!(!verify_batch(
        &params,
        pk.get_vk(),
        &[(public, proof), (changed, proof2)]
    ));
}

#[test]
fn verifying_key_is_pinned() {
    let c = circuit(0).describe();
    let k = c.k().unwrap();
    let params = ParamsCache::locate(None).unwrap().get(k).unwrap();
    let pk = proving_key(&params, &c).unwrap();
    common::assert_pinned("dense-16x8-relu", pk.get_vk());
}
