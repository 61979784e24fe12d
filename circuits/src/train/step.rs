//! One SGD step in circuit, equal bit for bit to
//! [`sgd_step`](super::native::sgd_step).
//!
//! Every product goes through the MAC gadget with a shared operand: the input
//! row for the forward pass, the next layer's deltas for the backward pass, and
//! a weight row's deltas over the batch for the update, where the old weight
//! joins the dot product against the constant `2^s`. Every rescale is the
//! rescale gadget (range-checked remainder and result); ReLU's forward pass
//! yields its sign bit, which masks the backward pass.

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

use super::softmax::{register_softmax, softmax_circuit};
use super::spec::{Loss, TrainSpec, PROB_FRAC};
use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::lookup::{LookupInstructions, Piece};
use crate::chips::range::register_range;
use crate::chips::rescale::register_rescale;
use crate::chips::rescale::RescaleInstructions;
use crate::chips::table::{Lookup, TableSet};
use crate::field::{fp_from_i64, fp_to_i128};
use crate::fixed::Activation;
use crate::Fp;

/// The cells of one training row: its features and its label.
#[derive(Clone, Debug)]
pub struct RowCells {
    /// Features, at the input format.
    pub features: Vec<AssignedCell<Fp, Fp>>,
    /// The class index.
    pub label: AssignedCell<Fp, Fp>,
}

/// Registers every table entry a step needs.
pub fn register_step(set: &mut TableSet, spec: &TrainSpec, limb_bits: u32) {
    let f = &spec.formats;
    let layers = spec.layers();
    for l in 0..layers {
        let act = (l + 1 < layers).then_some(Activation::Relu);
        register_rescale(set, spec.forward_shift(l), f.activation, act, limb_bits);
        register_rescale(set, spec.update_shift(l), f.weight, None, limb_bits);
    }
    register_rescale(set, spec.output_delta_shift(), f.delta, None, limb_bits);
    if spec.loss == Loss::CrossEntropy {
        register_softmax(set, spec, limb_bits);
    }
    register_rescale(set, spec.hidden_delta_shift(), f.delta, None, limb_bits);
    register_range(set, f.weight.bits(), true, limb_bits);
    set.add(Lookup::Bit);
    let classes = spec.widths[layers] as u32;
    for class in 0..classes {
        set.add(Lookup::OneHot { class, classes });
    }
}

fn cells(v: &[AssignedCell<Fp, Fp>]) -> Vec<Operand> {
    v.iter().cloned().map(Operand::Cell).collect()
}

/// Runs one SGD step on `rows` with `weights` (per layer, `outputs x (inputs +
/// 1)` cells, row-major) and returns the updated weights.
pub fn sgd_step_circuit(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    spec: &TrainSpec,
    limb_bits: u32,
    weights: &[Vec<AssignedCell<Fp, Fp>>],
    rows: &[RowCells],
) -> Result<Vec<Vec<AssignedCell<Fp, Fp>>>, Error> {
    let dot = cfg.dot_chip();
    let rescale = cfg.rescale_chip(limb_bits);
    let lookup = cfg.lookup_chip();
    let lanes = cfg.dot.lanes();
    let f = spec.formats;
    let layers = spec.layers();
    let widths = &spec.widths;
    let classes = widths[layers];

    // Forward pass: each row's layer inputs ([a, 1]), sign bits and logits.
    let mut inputs: Vec<Vec<Vec<Operand>>> = Vec::with_capacity(rows.len());
    let mut signs: Vec<Vec<Vec<AssignedCell<Fp, Fp>>>> = Vec::with_capacity(rows.len());
    let mut logits: Vec<Vec<AssignedCell<Fp, Fp>>> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut a = cells(&row.features);
        a.push(Operand::Constant(fp_from_i64(spec.bias_input(0))));
        let mut row_inputs = Vec::with_capacity(layers);
        let mut row_signs = Vec::with_capacity(layers);
        for l in 0..layers {
            let n_in = widths[l] + 1;
            let act = (l + 1 < layers).then_some(Activation::Relu);
            let mut outs = Vec::with_capacity(widths[l + 1]);
            let mut layer_signs = Vec::new();
            let outputs: Vec<usize> = (0..widths[l + 1]).collect();
            for group in outputs.chunks(lanes) {
                let b: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|o| cells(&weights[l][o * n_in..(o + 1) * n_in]))
                    .collect();
                let mut ns = layouter.namespace(|| "forward");
                let dc = dot.dot_products(&mut ns, &a, &b)?;
                a = cells(&dc.shared);
                for sum in &dc.sums {
                    let r =
                        rescale.rescale(&mut ns, sum, spec.forward_shift(l), f.activation, act)?;
                    if act.is_some() {
                        layer_signs.push(r.sign.ok_or(Error::Synthesis)?);
                    }
                    outs.push(r.y);
                }
            }
            row_inputs.push(a);
            row_signs.push(layer_signs);
            a = cells(&outs);
            a.push(Operand::Constant(fp_from_i64(spec.bias_input(l + 1))));
            if l + 1 == layers {
                logits.push(outs);
            }
        }
        inputs.push(row_inputs);
        signs.push(row_signs);
    }

    // Output deltas: rescale(lr * (onehot * one - prediction)), the prediction
    // being the logits (MSE) or the softmax probabilities (cross-entropy).
    let lr = spec.lr_num as i64;
    let one_frac = match spec.loss {
        Loss::Mse => f.activation.frac_bits(),
        Loss::CrossEntropy => PROB_FRAC,
    };
    let coefs = [
        Operand::Constant(fp_from_i64(lr << one_frac)),
        Operand::Constant(fp_from_i64(-lr)),
    ];
    if spec.loss == Loss::CrossEntropy {
        for z in logits.iter_mut() {
            *z = softmax_circuit(
                cfg,
                &mut layouter.namespace(|| "softmax"),
                spec,
                limb_bits,
                z,
            )?;
        }
    }
    let mut deltas: Vec<Vec<Vec<AssignedCell<Fp, Fp>>>> =
        vec![vec![Vec::new(); layers]; rows.len()];
    for (b, row) in rows.iter().enumerate() {
        let label = row.label.value().map(|v| fp_to_i128(v).unwrap_or(-1));
        let mut onehot = Vec::with_capacity(classes);
        for class in 0..classes {
            let piece = Piece {
                lookup: Lookup::OneHot {
                    class: class as u32,
                    classes: classes as u32,
                },
                input: row.label.value().copied(),
                output: label.map(|l| Fp::from(u64::from(l == class as i128))),
            };
            let d = lookup.decompose(
                &mut layouter.namespace(|| "one-hot"),
                &row.label,
                0,
                &[piece],
            )?;
            onehot.push(d.outputs[0].clone());
        }
        let pairs: Vec<Vec<Operand>> = (0..classes)
            .map(|o| {
                vec![
                    Operand::Cell(onehot[o].clone()),
                    Operand::Cell(logits[b][o].clone()),
                ]
            })
            .collect();
        for group in pairs.chunks(lanes) {
            let mut ns = layouter.namespace(|| "output delta");
            let dc = dot.dot_products(&mut ns, &coefs, group)?;
            for sum in &dc.sums {
                let r = rescale.rescale(&mut ns, sum, spec.output_delta_shift(), f.delta, None)?;
                deltas[b][layers - 1].push(r.q);
            }
        }
    }

    // Hidden deltas: mask * rescale(sum_o d_o W_oj), weights before the update.
    for l in (0..layers - 1).rev() {
        let n_in = widths[l + 1] + 1;
        let n_out = widths[l + 2];
        let hidden: Vec<usize> = (0..widths[l + 1]).collect();
        for b in 0..rows.len() {
            let shared = cells(&deltas[b][l + 1]);
            let mut out = Vec::with_capacity(hidden.len());
            for group in hidden.chunks(lanes) {
                let lane_vecs: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|j| {
                        (0..n_out)
                            .map(|o| Operand::Cell(weights[l + 1][o * n_in + j].clone()))
                            .collect()
                    })
                    .collect();
                let mut ns = layouter.namespace(|| "hidden delta");
                let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                for (sum, j) in dc.sums.iter().zip(group) {
                    let mask = &signs[b][l][*j];
                    let r = rescale.rescale_masked(
                        &mut ns,
                        sum,
                        spec.hidden_delta_shift(),
                        f.delta,
                        mask,
                    )?;
                    out.push(r.y);
                }
            }
            deltas[b][l] = out;
        }
    }

    // Updates: W' = rescale(sum_b d_b a_b + W 2^s).
    let mut updated = Vec::with_capacity(layers);
    for l in 0..layers {
        let n_in = widths[l] + 1;
        let s = spec.update_shift(l);
        let mut layer = Vec::with_capacity(weights[l].len());
        for o in 0..widths[l + 1] {
            let mut shared: Vec<Operand> = (0..rows.len())
                .map(|b| Operand::Cell(deltas[b][l][o].clone()))
                .collect();
            shared.push(Operand::Constant(fp_from_i64(1i64 << s)));
            let cols: Vec<usize> = (0..n_in).collect();
            for group in cols.chunks(lanes) {
                let lane_vecs: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|i| {
                        let mut v: Vec<Operand> =
                            inputs.iter().map(|inp| inp[l][*i].clone()).collect();
                        v.push(Operand::Cell(weights[l][o * n_in + i].clone()));
                        v
                    })
                    .collect();
                let mut ns = layouter.namespace(|| "update");
                let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                shared = cells(&dc.shared);
                for sum in &dc.sums {
                    layer.push(rescale.rescale(&mut ns, sum, s, f.weight, None)?.q);
                }
            }
        }
        updated.push(layer);
    }
    Ok(updated)
}
