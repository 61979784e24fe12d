//! Tampered witnesses of the step circuit: each composed wire (the one-hot
//! of a label, a ReLU sign mask, a hidden delta, an updated weight, the
//! packing into `C_in` and `C_out`, a softmax quotient and exponential, an
//! opened row's feature, index bit, sibling and Merkle node, the Poseidon
//! rounds, the context digest), changed as a whole the way a cheating
//! prover would change it, fails at the gate or lookup named.

use ff::Field;

use super::circuit::tests::{circuit, dataset, spec, LAYOUT};
use super::circuit::{StepWitness, TrainStepCircuit};
use super::native::init_params;
use super::spec::Loss;
use crate::chips::test_utils::{assert_copy_fails, assert_gate_fails, assert_named_lookup_fails};
use crate::tamper::Witness;
use crate::Fp;

/// The honest witness of `c`, recorded.
fn record(c: TrainStepCircuit) -> Witness<TrainStepCircuit> {
    let (public, _) = c.public_inputs().unwrap();
    let k = c.measure().unwrap().k;
    Witness::record(k, c, vec![public])
}

/// One MSE step of the 3-4-2 model on rows 1 and 6.
fn mse() -> Witness<TrainStepCircuit> {
    record(circuit(1, &[1, 6]))
}

/// One cross-entropy step of the same model.
fn cross_entropy() -> Witness<TrainStepCircuit> {
    let mut s = spec();
    s.loss = Loss::CrossEntropy;
    let data = dataset();
    let witness = StepWitness {
        params: init_params(&s, 5),
        salt_in: Fp::from(1),
        salt_out: Fp::from(2),
        openings: vec![data[4].clone(), data[1].clone()],
        context: Fp::from(3),
    };
    record(TrainStepCircuit::new(s, LAYOUT, 3, 1, Some(witness)).unwrap())
}

fn flip(w: &Witness<TrainStepCircuit>, path: &str, annotation: &str, n: usize) -> Fp {
    Fp::ONE - w.nth(path, annotation, n).value.unwrap()
}

#[test]
fn a_one_hot_entry_of_the_label_fails_the_table_lookup() {
    let w = mse();
    for n in [0, 1, 3] {
        let cell = w.nth("one-hot", "output", n);
        let v = flip(&w, "one-hot", "output", n);
        assert_named_lookup_fails(w.tamper(&cell, v), "table lookup");
    }
}

#[test]
fn a_relu_sign_mask_bit_fails_the_table_lookup() {
    let w = mse();
    // The sign of a hidden unit: looked up with its top limb in the forward
    // pass, then copied into the hidden delta as the mask.
    let sign = w.wired("forward", "output", "hidden delta");
    let v = Fp::ONE - sign.value.unwrap();
    assert_named_lookup_fails(w.tamper(&sign, v), "table lookup");
}

#[test]
fn a_hidden_delta_fails_the_select_gate() {
    let w = mse();
    let delta = w.wired("hidden delta", "selected", "update");
    assert_gate_fails(w.shift(&delta, 1), "select");
    assert_gate_fails(w.shift(&delta, -3), "select");
}

#[test]
fn an_updated_weight_fails_its_rescale() {
    let w = mse();
    let updated = w.wired("update", "z", "commit out");
    assert_gate_fails(w.shift(&updated, 1), "decompose step");
}

#[test]
fn packing_into_the_commitments_fails_the_mac_gate() {
    let w = mse();
    for commit in ["commit in", "commit out"] {
        // A packed element, copied into the sponge.
        let packed = w.wired(commit, "acc", "poseidon");
        assert_gate_fails(w.shift(&packed, 1), "mac");
    }
}

#[test]
fn a_weight_of_c_in_fails_its_range_check() {
    let w = mse();
    // A committed weight as the forward pass, the packing and the update
    // read it.
    let weight = w.wired("weights in", "z0", "forward");
    assert!(w.reaches(&weight, "commit in") && w.reaches(&weight, "update"));
    assert_gate_fails(w.shift(&weight, 1), "decompose step");
}

#[test]
fn an_opened_rows_cells_fail_their_gates() {
    let w = mse();
    // A feature, as packed into the leaf and read by the forward pass.
    let feature = w.wired("open row 0/row", "piece", "forward");
    assert_gate_fails(w.shift(&feature, 1), "decompose");
    // A label, as packed and read by the one-hot lookups.
    let label = w.wired("open row 1/row", "piece", "one-hot");
    assert_gate_fails(w.shift(&label, 1), "decompose");
    // An index bit, as decomposed from the public index and swapped on.
    let bit = w.wired("open row 0/index bits", "piece", "merkle swap");
    let v = Fp::ONE - bit.value.unwrap();
    assert_gate_fails(w.tamper(&bit, v), "decompose");
    // A sibling, and the right input of a node alone.
    let sib = w.nth("open row 0/path/merkle swap", "sib", 1);
    assert_gate_fails(w.shift(&sib, 1), "merkle swap");
    let right = w.nth("open row 1/path/merkle swap", "right", 0);
    assert_gate_fails(w.shift(&right, 1), "merkle swap");
}

#[test]
fn poseidon_state_cells_fail_the_round_gates() {
    let w = mse();
    // Auxiliary cells are assigned three a row: cell 3 is the second row's
    // first square (a full round), cell 30 the eleventh row's (partial).
    let full = w.nth("open row 0/path", "aux", 3);
    assert_gate_fails(w.shift(&full, 1), "poseidon full round");
    let partial = w.nth("open row 0/leaf", "aux", 30);
    assert_gate_fails(w.shift(&partial, 1), "poseidon partial rounds");
    // Every permutation sits on the shared schedule, the last of each lane
    // included.
    crate::chips::hash::tampering::assert_permutations_on_schedule(&w);
    // A state word of the commitment's sponge between two rounds.
    let state = w.nth("commit out", "state", 3 * 20);
    assert_gate_fails(w.shift(&state, 1), "poseidon partial rounds");
}

#[test]
fn the_context_digest_is_bound_to_its_public_input() {
    let w = mse();
    let context = w.nth("salts and context", "witness", 2);
    assert_copy_fails(w.shift(&context, 1));
}

#[test]
fn softmax_quotients_and_exponentials_fail_their_checks() {
    let w = cross_entropy();
    // A probability: composed from range-checked limbs and read by the
    // output delta.
    let p = w.wired("softmax", "z0", "output delta");
    assert_gate_fails(w.shift(&p, 1), "decompose");
    // An exponential: a SoftmaxExp table output summed and divided.
    let e = w.wired("softmax/decompose", "output", "softmax/dot products");
    assert_named_lookup_fails(w.shift(&e, 1), "table lookup");
}
