//! A census of the quick start's step witness, behind the figures of
//! docs/DESIGN.md ("Where a training step's time goes"): how many advice
//! cells hold zero, small or full-width values (a commitment's MSM work
//! grows with the non-zero 9-bit windows of its scalars), and how many
//! copy-constraint endpoints each equality-enabled column carries.
//!
//! Ignored by default (a full-size step under the mock prover):
//! `cargo test -p zkpot-circuits --lib census -- --ignored --nocapture`.

use std::collections::BTreeMap;

use ff::PrimeField;
use halo2_proofs::plonk::{Any, Column};

use super::circuit::{StepWitness, TrainStepCircuit};
use super::native::init_params;
use super::spec::{Loss, TrainFormats, TrainSpec};
use crate::circuits::membership::{test_openings, RowLayout};
use crate::fixed::QFormat;
use crate::tamper::Witness;
use crate::Fp;

/// The quick start's step: 64-32-10, batch 16, cross-entropy, on a
/// synthetic 2,048-row dataset (tree depth 11, as digits).
fn quick_start_step() -> TrainStepCircuit {
    let layout = RowLayout {
        features: 64,
        feature_bits: 8,
        label_bits: 4,
    };
    let spec = TrainSpec {
        widths: vec![64, 32, 10],
        conv: None,
        loss: Loss::CrossEntropy,
        lr_num: 128,
        lr_shift: 8,
        batch: 16,
        formats: TrainFormats::for_input(QFormat::new(4, 8).expect("a valid format")),
    };
    let rows: Vec<Vec<i64>> = (0..2048i64)
        .map(|r| {
            let mut row: Vec<i64> = (0..64).map(|j| (r * 7 + j * 13) % 17).collect();
            row.push(r % 10);
            row
        })
        .collect();
    let salts: Vec<Fp> = (0..2048u64).map(|r| Fp::from(77 + r)).collect();
    let data = test_openings(&layout, &rows, &salts);
    let witness = StepWitness {
        params: init_params(&spec, 5),
        salt_in: Fp::from(1234),
        salt_out: Fp::from(5678),
        openings: (0..16).map(|i| data[i * 37].clone()).collect(),
        context: Fp::from(99),
    };
    TrainStepCircuit::new(spec, layout, 11, 1, Some(witness)).expect("a valid step")
}

/// The bit length of a field element's canonical representation.
fn bit_length(v: Fp) -> usize {
    let repr = v.to_repr();
    let bytes = repr.as_ref();
    match bytes.iter().rposition(|b| *b != 0) {
        Some(i) => 8 * i + (8 - bytes[i].leading_zeros() as usize),
        None => 0,
    }
}

#[test]
fn bit_lengths() {
    assert_eq!(bit_length(Fp::zero()), 0);
    assert_eq!(bit_length(Fp::from(1)), 1);
    assert_eq!(bit_length(Fp::from(256)), 9);
    assert_eq!(bit_length(-Fp::from(1)), 255);
}

#[test]
#[ignore = "a full-size step under the mock prover; run by hand for docs/DESIGN.md"]
fn census() {
    let c = quick_start_step();
    let (public, _) = c.public_inputs().expect("public inputs");
    let k = c.measure().expect("a measurable circuit").k;
    let w = Witness::record(k, c, vec![public]);

    let mut zero = 0usize;
    let mut small = 0usize;
    let mut medium = 0usize;
    let mut full = 0usize;
    let mut windows = 0usize;
    let mut full_windows = 0usize;
    for cell in w.cells() {
        let bits = cell.value.map_or(0, bit_length);
        match bits {
            0 => zero += 1,
            1..=16 => small += 1,
            17..=64 => medium += 1,
            _ => full += 1,
        }
        windows += bits.div_ceil(9);
        if bits > 64 {
            full_windows += bits.div_ceil(9);
        }
    }
    println!("k = {k}, {} advice cells", w.cells().len());
    println!("zero {zero}, <= 16 bits {small}, <= 64 bits {medium}, full width {full}");
    println!(
        "non-zero 9-bit windows {windows}, of which full-width cells' {full_windows} ({:.1}%)",
        100.0 * full_windows as f64 / windows.max(1) as f64
    );

    let mut endpoints: BTreeMap<Column<Any>, usize> = BTreeMap::new();
    for (a, b) in w.copies() {
        *endpoints.entry(a.0).or_default() += 1;
        *endpoints.entry(b.0).or_default() += 1;
    }
    println!("copy-constraint endpoints per equality-enabled column:");
    for (column, n) in &endpoints {
        println!("  {column:?}: {n}");
    }
    assert!(endpoints.values().all(|n| *n > 0));
}
