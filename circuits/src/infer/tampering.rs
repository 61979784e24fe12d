//! Tampered witnesses of the inference circuit: a private input, each
//! layer's output (convolution with ReLU, average pool, dense), a committed
//! weight in the compact and the pack-lane layouts, a max pool's pieces, an
//! argmax's one-hot and maximum, the packing of a committed output, and a
//! public input, each changed as a whole, fail at the gate or lookup named.

use ff::Field;

use super::circuit::tests::{argmax_model, max_pool_model, model, witness};
use super::circuit::{Compact, InferShape, InferenceCircuit, Visibility, Wide};
use crate::chips::test_utils::{assert_copy_fails, assert_gate_fails, assert_named_lookup_fails};
use crate::tamper::Witness;
use crate::Fp;

fn record<S: InferShape>(c: InferenceCircuit<S>) -> Witness<InferenceCircuit<S>> {
    let (public, _) = c.public_inputs().unwrap();
    let k = c.measure().unwrap().k;
    Witness::record(k, c, vec![public])
}

/// Conv 3x3 + ReLU, 2x2 average pool, dense; private input, committed
/// output, compact layout.
fn cnn() -> Witness<InferenceCircuit<Compact>> {
    let c = InferenceCircuit::<Compact>::new(
        model(),
        Visibility::Private,
        Visibility::Committed,
        Some(witness(3)),
    )
    .unwrap();
    record(c)
}

#[test]
fn a_private_input_fails_its_range_check() {
    let w = cnn();
    // One 8-bit piece: the decomposition's end gate.
    let x = w.wired("input", "z0", "layer 0");
    assert_gate_fails(w.shift(&x, 1), "decompose end");
}

#[test]
fn each_layers_output_fails_its_rescale() {
    let w = cnn();
    // ReLU of a convolution output, selected by its sign.
    let relu = w.wired("layer 0", "selected", "layer 1");
    assert_gate_fails(w.shift(&relu, 1), "select");
    // An average-pooled value and a dense output (the rescaled quotient).
    let pooled = w.wired("layer 1", "z", "layer 2");
    assert_gate_fails(w.shift(&pooled, -1), "decompose step");
    let logit = w.wired("layer 2", "z", "output");
    assert_gate_fails(w.shift(&logit, 1), "decompose step");
}

#[test]
fn committed_weights_and_outputs_fail_their_packing() {
    let w = cnn();
    // A byte weight, packed as it is range-checked (a composition whose
    // pieces are the weights).
    let weight = w.wired("weights", "piece", "layer 0");
    assert_gate_fails(w.shift(&weight, 1), "decompose");
    // A packed element of the output commitment.
    let packed = w.wired("output", "acc", "poseidon");
    assert_gate_fails(w.shift(&packed, 1), "mac");
    // The weight commitment's permutations are constrained (the circuit
    // assigns the Poseidon schedule): a full round's square and a partial
    // round's cell of its sponge.
    assert_gate_fails(
        w.shift(&w.nth("weights", "aux", 3), 1),
        "poseidon full round",
    );
    assert_gate_fails(
        w.shift(&w.nth("weights", "aux", 30), 1),
        "poseidon partial rounds",
    );
    crate::chips::hash::tampering::assert_permutations_on_schedule(&w);
}

#[test]
fn pack_lane_weights_fail_their_running_sum() {
    let mut wt = witness(3);
    wt.weights.truncate(1);
    let c = InferenceCircuit::<Wide>::new(
        max_pool_model(),
        Visibility::Private,
        Visibility::Public,
        Some(wt),
    )
    .unwrap();
    let w = record(c);
    let byte = w.wired("weights", "byte", "layer 0");
    assert_gate_fails(w.shift(&byte, 1), "byte pack");
}

#[test]
fn max_pool_pieces_fail_their_gates() {
    let mut wt = witness(3);
    wt.weights.truncate(1);
    let c = InferenceCircuit::<Compact>::new(
        max_pool_model(),
        Visibility::Private,
        Visibility::Committed,
        Some(wt),
    )
    .unwrap();
    let w = record(c);
    // relu(a - b), then b + relu(a - b).
    let relu = w.wired("layer 1", "selected", "layer 1/dot products");
    assert_gate_fails(w.shift(&relu, 1), "select");
    let max = w.wired("layer 1", "acc", "output");
    assert_gate_fails(w.shift(&max, 1), "mac");
}

#[test]
fn an_argmax_one_hot_and_maximum_fail() {
    let (m, wt) = argmax_model();
    let c =
        InferenceCircuit::<Compact>::new(m, Visibility::Private, Visibility::Committed, Some(wt))
            .unwrap();
    let w = record(c);
    let e = w.wired("layer 1/decompose", "output", "layer 1/dot products");
    let v = Fp::ONE - e.value.unwrap();
    assert_named_lookup_fails(w.tamper(&e, v), "table lookup");
    let m = w.wired("layer 1/dot products", "acc", "layer 1/dot products");
    assert!(w.shift(&m, 1).is_err());
}

#[test]
fn a_public_input_is_bound_to_its_instance() {
    let c = InferenceCircuit::<Compact>::new(
        model(),
        Visibility::Public,
        Visibility::Public,
        Some(witness(3)),
    )
    .unwrap();
    let w = record(c);
    let x = w.wired("input", "witness", "layer 0");
    assert_copy_fails(w.shift(&x, 1));
}

/// Three inputs in one proof, private inputs and committed outputs: the
/// second item's layer output and its output commitment's packing fail
/// their gates, the first and third items' cells untouched.
#[test]
fn a_batch_items_cells_fail_their_own_gates() {
    let mut wt = witness(3);
    wt.items = (0..3).map(|seed| witness(seed).items[0].clone()).collect();
    let c = InferenceCircuit::<Compact>::batched(
        model(),
        Visibility::Private,
        Visibility::Committed,
        3,
        Some(wt),
    )
    .unwrap();
    let w = record(c);
    let logit = w.wired("item 1/layer 2", "z", "item 1/output");
    assert_gate_fails(w.shift(&logit, 1), "decompose step");
    let packed = w.wired("item 1/output", "acc", "item 1/output");
    assert_gate_fails(w.shift(&packed, 1), "mac");
    let x = w.wired("item 2/input", "z0", "item 2/layer 0");
    assert_gate_fails(w.shift(&x, 1), "decompose end");
    // Item 1's input is wired into item 1's forward pass only.
    let x1 = w.wired("item 1/input", "z0", "item 1/layer 0");
    assert!(!w.reaches(&x1, "item 0/layer 0") && !w.reaches(&x1, "item 2/layer 0"));
}
