//! The layers of a quantized model in circuit: the forward pass the
//! inference and evaluation circuits share, equal to
//! [`QModel::forward`](super::model::QModel::forward) bit for bit, and the
//! table entries it needs.

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

use super::model::{QLayer, QModel, QWeights};
use super::select::{argmax_of, difference_format, max_of, register_argmax};
use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::range::register_range;
use crate::chips::rescale::{register_rescale, RescaleInstructions};
use crate::chips::table::TableSet;
use crate::field::fp_from_i64;
use crate::fixed::Activation;
use crate::train::commit::{witness_committed, Committed};
use crate::Fp;

/// Witnesses `m`'s weights (unknown when `weights` is `None`, as when keys
/// are made) as range-checked cells and commits to them with `salt`, in a
/// namespace `weights`: the `C_W` inference and evaluation circuits expose.
pub fn commit_model_weights(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    m: &QModel,
    weights: Option<&QWeights>,
    salt: &AssignedCell<Fp, Fp>,
    limb_bits: u32,
) -> Result<Committed, Error> {
    let flat: Vec<Value<i64>> = match weights {
        Some(w) => w.iter().flatten().map(|v| Value::known(*v)).collect(),
        None => vec![Value::unknown(); m.n_params()],
    };
    witness_committed(
        cfg,
        &mut layouter.namespace(|| "weights"),
        salt,
        &flat,
        m.weight.bits(),
        limb_bits,
    )
}

/// Registers the table entries of the layers of `m` (and the weights' and
/// activations' range checks).
pub fn register_layers(set: &mut TableSet, m: &QModel, limb_bits: u32) {
    register_range(set, m.weight.bits(), true, limb_bits);
    register_range(set, m.activation.bits(), true, limb_bits);
    for (i, l) in m.layers.iter().enumerate() {
        match l {
            QLayer::AvgPool2d { kernel, .. } => {
                let shift = m.pool_shift(i, *kernel);
                register_rescale(set, shift, m.activation, None, limb_bits);
            }
            QLayer::Argmax { inputs } => register_argmax(set, *inputs, m.activation, limb_bits),
            QLayer::MaxPool2d { .. } => {
                // Validated models have activations narrow enough for this.
                if let Ok(d) = difference_format(m.activation) {
                    register_rescale(set, 0, d, Some(Activation::Relu), limb_bits)
                }
            }
            _ => register_rescale(set, m.shift(i), m.activation, l.activation(), limb_bits),
        }
    }
}

/// The forward pass of `m` on the input cells `x` with the weight cells
/// `w_cells` (range-checked, every layer's `outputs x (fan_in + 1)` in
/// order): each layer in a namespace `layer <l>`; returns the last layer's
/// output cells.
pub fn forward_circuit(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    m: &QModel,
    w_cells: &[AssignedCell<Fp, Fp>],
    mut x: Vec<AssignedCell<Fp, Fp>>,
    limb_bits: u32,
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    let dot = cfg.dot_chip();
    let rescale = cfg.rescale_chip(limb_bits);
    let lanes = cfg.dot.lanes();
    let zero = Operand::Constant(Fp::from(0));
    let mut next_w = 0;
    let mut offset = 0;
    let shapes = m.weight_shapes();
    for (l, layer) in m.layers.iter().enumerate() {
        let mut ns = layouter.namespace(|| format!("layer {l}"));
        let fields = layer.receptive_fields();
        let one = Operand::Constant(fp_from_i64(m.bias_input(l)));
        let mut y: Vec<Option<AssignedCell<Fp, Fp>>> = vec![None; layer.output_len()];
        match layer {
            QLayer::AvgPool2d { kernel, .. } => {
                let shift = m.pool_shift(l, *kernel);
                let ones = vec![Operand::Constant(Fp::from(1)); kernel * kernel];
                for (p, f) in fields.iter().enumerate() {
                    let shared: Vec<Operand> = f
                        .iter()
                        .map(|i| i.map_or(zero.clone(), |i| Operand::Cell(x[i].clone())))
                        .collect();
                    let dc = dot.dot_products(&mut ns, &shared, std::slice::from_ref(&ones))?;
                    let r = rescale.rescale(&mut ns, &dc.sums[0], shift, m.activation, None)?;
                    y[p] = Some(r.y);
                }
            }
            QLayer::Argmax { .. } => {
                y[0] = Some(argmax_of(cfg, &mut ns, &x, m.activation, limb_bits)?);
            }
            QLayer::MaxPool2d { .. } => {
                for (p, f) in fields.iter().enumerate() {
                    let window: Vec<&AssignedCell<Fp, Fp>> =
                        f.iter().flatten().map(|i| &x[*i]).collect();
                    let (first, rest) = window.split_first().ok_or(Error::Synthesis)?;
                    let mut best = (*first).clone();
                    for v in rest {
                        best = max_of(&dot, &rescale, &mut ns, &best, v, m.activation)?;
                    }
                    y[p] = Some(best);
                }
            }
            _ => {
                let (rows, cols) = shapes[next_w];
                let wl = &w_cells[offset..offset + rows * cols];
                next_w += 1;
                offset += rows * cols;
                let positions = fields.len();
                let outputs: Vec<usize> = (0..rows).collect();
                for (p, f) in fields.iter().enumerate() {
                    let mut shared: Vec<Operand> = f
                        .iter()
                        .map(|i| i.map_or(zero.clone(), |i| Operand::Cell(x[i].clone())))
                        .collect();
                    shared.push(one.clone());
                    for group in outputs.chunks(lanes) {
                        let b: Vec<Vec<Operand>> = group
                            .iter()
                            .map(|o| {
                                wl[o * cols..(o + 1) * cols]
                                    .iter()
                                    .cloned()
                                    .map(Operand::Cell)
                                    .collect()
                            })
                            .collect();
                        let dc = dot.dot_products(&mut ns, &shared, &b)?;
                        shared = dc.shared.iter().cloned().map(Operand::Cell).collect();
                        for (sum, o) in dc.sums.iter().zip(group) {
                            let r = rescale.rescale(
                                &mut ns,
                                sum,
                                m.shift(l),
                                m.activation,
                                layer.activation(),
                            )?;
                            y[o * positions + p] = Some(r.y);
                        }
                    }
                }
            }
        }
        x = y
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::Synthesis)?;
    }
    Ok(x)
}
