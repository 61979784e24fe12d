//! One SGD step in circuit, equal bit for bit to
//! [`sgd_step`](super::native::sgd_step).
//!
//! Every product goes through the MAC gadget with a shared operand: a
//! position's receptive field for the forward pass (the outputs in lanes),
//! the deltas reaching an input location for the backward pass (the input
//! channels in lanes, [`InputTaps`]), and a weight row's deltas over the
//! batch and positions for the update, where the old weight joins the dot
//! product against the constant `2^s`. Every rescale is the rescale gadget
//! (range-checked remainder and result); ReLU's forward pass yields its sign
//! bit, which masks the backward pass. Average pooling sums its window and
//! rescales, and on the way back rescales each window's delta once and
//! multiplies it by each entry's ReLU sign; max pooling proves each window's first maximum with its one-hot
//! encoding ([`first_max`]), which routes the window's delta back (times
//! the ReLU sign of the entry it reaches, on the MAC gadget). A dense
//! layer is the case of one position and one input location, so an MLP's
//! step is laid out exactly as before convolutions existed.

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

use super::backward::{pool_windows, InputTaps};
use super::softmax::{register_softmax, softmax_circuit};
use super::spec::{Loss, TrainSpec, PROB_FRAC};
use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::lookup::{LookupInstructions, Piece};
use crate::chips::range::register_range;
use crate::chips::rescale::register_rescale;
use crate::chips::rescale::{RescaleChip, RescaleInstructions};
use crate::chips::table::{Lookup, TableSet};
use crate::field::{fp_from_i64, fp_to_i128};
use crate::infer::select::{first_max, register_argmax};
use crate::infer::QLayer;
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
    for (l, layer) in spec.layer_list().iter().enumerate() {
        match layer {
            QLayer::AvgPool2d { .. } => {
                register_rescale(set, spec.forward_shift(l), f.activation, None, limb_bits);
            }
            QLayer::MaxPool2d { kernel, .. } => {
                register_argmax(set, kernel * kernel, f.activation, limb_bits);
            }
            _ => {
                let act = layer.activation();
                register_rescale(set, spec.forward_shift(l), f.activation, act, limb_bits);
                register_rescale(set, spec.update_shift(l), f.weight, None, limb_bits);
            }
        }
        if l > 0 {
            register_rescale(set, spec.backward_shift(l), f.delta, None, limb_bits);
        }
    }
    register_rescale(set, spec.output_delta_shift(), f.delta, None, limb_bits);
    if spec.loss == Loss::CrossEntropy {
        register_softmax(set, spec, limb_bits);
    }
    register_rescale(set, spec.hidden_delta_shift(), f.delta, None, limb_bits);
    register_range(set, f.weight.bits(), true, limb_bits);
    set.add(Lookup::Bit);
    let classes = spec.classes() as u32;
    for class in 0..classes {
        set.add(Lookup::OneHot { class, classes });
    }
}

fn cells(v: &[AssignedCell<Fp, Fp>]) -> Vec<Operand> {
    v.iter().cloned().map(Operand::Cell).collect()
}

/// Collects per-index cells that every loop above filled.
fn filled(v: Vec<Option<AssignedCell<Fp, Fp>>>) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    v.into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or(Error::Synthesis)
}

/// What the forward pass of one row leaves for the backward pass and the
/// update, per layer.
struct RowForward {
    /// A convolution's or dense layer's shared operand at each position
    /// (its receptive field and the bias's one, as copied into the MAC
    /// gadget): the update's inputs.
    inputs: Vec<Vec<Vec<Operand>>>,
    /// The ReLU sign bit of each output of a layer with ReLU.
    signs: Vec<Vec<Option<AssignedCell<Fp, Fp>>>>,
    /// Each window's one-hot first maximum, for a max pool.
    choices: Vec<Vec<Vec<AssignedCell<Fp, Fp>>>>,
    /// The logits.
    logits: Vec<AssignedCell<Fp, Fp>>,
}

/// Rescales a delta into the delta format, masked by a ReLU sign bit if the
/// layer it belongs to has one.
fn delta_rescale(
    rescale: &RescaleChip,
    layouter: &mut impl Layouter<Fp>,
    spec: &TrainSpec,
    sum: &AssignedCell<Fp, Fp>,
    shift: u32,
    mask: Option<&AssignedCell<Fp, Fp>>,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let f = spec.formats.delta;
    Ok(match mask {
        Some(m) => rescale.rescale_masked(layouter, sum, shift, f, m)?.y,
        None => rescale.rescale(layouter, sum, shift, f, None)?.q,
    })
}

/// The forward pass of one row.
fn forward_row(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    spec: &TrainSpec,
    limb_bits: u32,
    weights: &[Vec<AssignedCell<Fp, Fp>>],
    features: &[AssignedCell<Fp, Fp>],
) -> Result<RowForward, Error> {
    let dot = cfg.dot_chip();
    let rescale = cfg.rescale_chip(limb_bits);
    let lanes = cfg.dot.lanes();
    let f = spec.formats;
    let layers = spec.layer_list();
    let zero = Operand::Constant(Fp::from(0));
    let mut out = RowForward {
        inputs: vec![Vec::new(); layers.len()],
        signs: vec![Vec::new(); layers.len()],
        choices: vec![Vec::new(); layers.len()],
        logits: Vec::new(),
    };
    let mut x: Vec<AssignedCell<Fp, Fp>> = features.to_vec();
    let mut next_w = 0;
    for (l, layer) in layers.iter().enumerate() {
        let fields = layer.receptive_fields();
        let mut y: Vec<Option<AssignedCell<Fp, Fp>>> = vec![None; layer.output_len()];
        let field = |f: &[Option<usize>]| -> Vec<Operand> {
            f.iter()
                .map(|i| i.map_or(zero.clone(), |i| Operand::Cell(x[i].clone())))
                .collect()
        };
        match layer {
            QLayer::AvgPool2d { kernel, .. } => {
                let ones = vec![Operand::Constant(Fp::from(1)); kernel * kernel];
                for (p, fp) in fields.iter().enumerate() {
                    let mut ns = layouter.namespace(|| "average pool");
                    let dc = dot.dot_products(&mut ns, &field(fp), std::slice::from_ref(&ones))?;
                    let sum = dc.sums.first().ok_or(Error::Synthesis)?;
                    let r =
                        rescale.rescale(&mut ns, sum, spec.forward_shift(l), f.activation, None)?;
                    y[p] = Some(r.y);
                }
            }
            QLayer::MaxPool2d { .. } => {
                for (p, fp) in fields.iter().enumerate() {
                    let window: Vec<AssignedCell<Fp, Fp>> =
                        fp.iter().flatten().map(|i| x[*i].clone()).collect();
                    let m = first_max(
                        cfg,
                        &mut layouter.namespace(|| "max pool"),
                        &window,
                        f.activation,
                        limb_bits,
                    )?;
                    y[p] = Some(m.max);
                    out.choices[l].push(m.onehot);
                }
            }
            _ => {
                let (rows, cols) = layer.weight_shape().ok_or(Error::Synthesis)?;
                let w = weights.get(next_w).ok_or(Error::Synthesis)?;
                next_w += 1;
                let act = layer.activation();
                let positions = fields.len();
                let one = Operand::Constant(fp_from_i64(spec.bias_input(l)));
                let outputs: Vec<usize> = (0..rows).collect();
                let mut signs = vec![None; rows * positions];
                for (p, fp) in fields.iter().enumerate() {
                    let mut shared = field(fp);
                    shared.push(one.clone());
                    for group in outputs.chunks(lanes) {
                        let b: Vec<Vec<Operand>> = group
                            .iter()
                            .map(|o| cells(&w[o * cols..(o + 1) * cols]))
                            .collect();
                        let mut ns = layouter.namespace(|| "forward");
                        let dc = dot.dot_products(&mut ns, &shared, &b)?;
                        shared = cells(&dc.shared);
                        for (sum, o) in dc.sums.iter().zip(group) {
                            let r = rescale.rescale(
                                &mut ns,
                                sum,
                                spec.forward_shift(l),
                                f.activation,
                                act,
                            )?;
                            if act.is_some() {
                                signs[o * positions + p] = Some(r.sign.ok_or(Error::Synthesis)?);
                            }
                            y[o * positions + p] = Some(r.y);
                        }
                    }
                    out.inputs[l].push(shared);
                }
                out.signs[l] = signs;
            }
        }
        x = filled(y)?;
    }
    out.logits = x;
    Ok(out)
}

/// Runs one SGD step on `rows` with `weights` (per convolution or dense
/// layer, `outputs x (inputs + 1)` cells, row-major) and returns the updated
/// weights.
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
    let zero = Operand::Constant(Fp::from(0));
    let model = spec.layer_list();
    let layers = model.len();
    let classes = spec.classes();
    // The weight matrix of each layer that has one.
    let mut weight_of = Vec::with_capacity(layers);
    let mut next_w = 0;
    for layer in &model {
        weight_of.push(layer.weight_shape().map(|_| {
            next_w += 1;
            next_w - 1
        }));
    }
    let w_at = |l: usize| -> Result<&Vec<AssignedCell<Fp, Fp>>, Error> {
        weight_of[l]
            .and_then(|i| weights.get(i))
            .ok_or(Error::Synthesis)
    };

    // Forward pass.
    let mut fwd = Vec::with_capacity(rows.len());
    for row in rows {
        fwd.push(forward_row(
            cfg,
            layouter,
            spec,
            limb_bits,
            weights,
            &row.features,
        )?);
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
        for r in fwd.iter_mut() {
            r.logits = softmax_circuit(
                cfg,
                &mut layouter.namespace(|| "softmax"),
                spec,
                limb_bits,
                &r.logits,
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
                    Operand::Cell(fwd[b].logits[o].clone()),
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

    // Deltas of every layer's output, from the layer after it, back to the
    // first layer with weights; weights before the update.
    let first = model
        .iter()
        .position(|l| l.weight_shape().is_some())
        .unwrap_or(layers);
    for l in (first..layers.saturating_sub(1)).rev() {
        let next = &model[l + 1];
        let shift = spec.backward_shift(l + 1);
        let masked = model[l].activation().is_some();
        for b in 0..rows.len() {
            let mask = |j: usize| -> Result<Option<&AssignedCell<Fp, Fp>>, Error> {
                if !masked {
                    return Ok(None);
                }
                fwd[b].signs[l]
                    .get(j)
                    .and_then(Option::as_ref)
                    .map(Some)
                    .ok_or(Error::Synthesis)
            };
            let d = &deltas[b][l + 1];
            let mut out: Vec<Option<AssignedCell<Fp, Fp>>> = vec![None; model[l].output_len()];
            match InputTaps::of(next) {
                Some(taps) => {
                    let taps = &taps;
                    let w = w_at(l + 1)?;
                    let (outputs, cols) = next.weight_shape().ok_or(Error::Synthesis)?;
                    let channels: Vec<usize> = (0..taps.channels).collect();
                    for (loc, list) in taps.lists.iter().enumerate() {
                        let shared: Vec<Operand> = (0..outputs)
                            .flat_map(|o| {
                                list.iter().map(move |(p, _)| {
                                    Operand::Cell(d[o * taps.positions + p].clone())
                                })
                            })
                            .collect();
                        for group in channels.chunks(lanes) {
                            let lane_vecs: Vec<Vec<Operand>> = group
                                .iter()
                                .map(|c| {
                                    (0..outputs)
                                        .flat_map(|o| {
                                            list.iter().map(move |(_, t)| {
                                                Operand::Cell(
                                                    w[o * cols + taps.column(*c, *t)].clone(),
                                                )
                                            })
                                        })
                                        .collect()
                                })
                                .collect();
                            let mut ns = layouter.namespace(|| "hidden delta");
                            let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                            for (sum, c) in dc.sums.iter().zip(group) {
                                let j = c * taps.locations() + loc;
                                out[j] = Some(delta_rescale(
                                    &rescale,
                                    &mut ns,
                                    spec,
                                    sum,
                                    shift,
                                    mask(j)?,
                                )?);
                            }
                        }
                    }
                }
                None => {
                    let windows = pool_windows(next);
                    let fields = next.receptive_fields();
                    let mut ns = layouter.namespace(|| "pool delta");
                    if matches!(next, QLayer::MaxPool2d { .. }) {
                        // A window's delta goes to its first maximum: each
                        // entry's one-hot choice, times its ReLU sign when
                        // the layer before has ReLU (one multiply-add row a
                        // window: the choices shared, each lane holding one
                        // sign), times the delta (another row). The shift
                        // is 0 and a bit times a range-checked delta stays
                        // in range, so nothing is rescaled.
                        for (p, fp) in fields.iter().enumerate() {
                            let choice = fwd[b].choices[l + 1].get(p).ok_or(Error::Synthesis)?;
                            let entries: Vec<usize> = (0..fp.len()).collect();
                            let routes: Vec<AssignedCell<Fp, Fp>> = if masked {
                                let mut routes = Vec::with_capacity(fp.len());
                                let shared = cells(choice);
                                for group in entries.chunks(lanes) {
                                    let lane_vecs = group
                                        .iter()
                                        .map(|k| {
                                            let j = fp[*k].ok_or(Error::Synthesis)?;
                                            let m = mask(j)?.ok_or(Error::Synthesis)?;
                                            Ok((0..fp.len())
                                                .map(|i| match i == *k {
                                                    true => Operand::Cell(m.clone()),
                                                    false => zero.clone(),
                                                })
                                                .collect())
                                        })
                                        .collect::<Result<Vec<Vec<Operand>>, Error>>()?;
                                    let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                                    routes.extend(dc.sums.iter().cloned());
                                }
                                routes
                            } else {
                                choice.clone()
                            };
                            let shared = [Operand::Cell(d[p].clone())];
                            for group in entries.chunks(lanes) {
                                let lane_vecs: Vec<Vec<Operand>> = group
                                    .iter()
                                    .map(|k| vec![Operand::Cell(routes[*k].clone())])
                                    .collect();
                                let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                                for (sum, k) in dc.sums.iter().zip(group) {
                                    out[fp[*k].ok_or(Error::Synthesis)?] = Some(sum.clone());
                                }
                            }
                        }
                    } else {
                        // Every entry gets its window's delta divided by the
                        // window's size: one rescale a window, then each
                        // entry's ReLU sign times it (one multiply-add).
                        for (p, fp) in fields.iter().enumerate() {
                            let r = rescale.rescale(&mut ns, &d[p], shift, f.delta, None)?.q;
                            let entries: Vec<usize> = fp.iter().flatten().copied().collect();
                            if !masked {
                                for j in entries {
                                    out[j] = Some(r.clone());
                                }
                                continue;
                            }
                            for group in entries.chunks(lanes) {
                                let signs: Vec<Vec<Operand>> = group
                                    .iter()
                                    .map(|j| {
                                        mask(*j)?
                                            .map(|m| vec![Operand::Cell(m.clone())])
                                            .ok_or(Error::Synthesis)
                                    })
                                    .collect::<Result<_, Error>>()?;
                                let shared = [Operand::Cell(r.clone())];
                                let dc = dot.dot_products(&mut ns, &shared, &signs)?;
                                for (sum, j) in dc.sums.iter().zip(group) {
                                    out[*j] = Some(sum.clone());
                                }
                            }
                        }
                        debug_assert!(windows.iter().all(Option::is_some));
                    }
                }
            }
            deltas[b][l] = filled(out)?;
        }
    }

    // Updates: W' = rescale(sum_(b, p) d_(b, p) a_(b, p) + W 2^s).
    let mut updated = Vec::with_capacity(weights.len());
    for (l, layer) in model.iter().enumerate() {
        let Some((outputs, cols)) = layer.weight_shape() else {
            continue;
        };
        let w = w_at(l)?;
        let positions = layer.positions();
        let s = spec.update_shift(l);
        let mut new = Vec::with_capacity(w.len());
        for o in 0..outputs {
            let mut shared: Vec<Operand> = (0..rows.len())
                .flat_map(|b| {
                    let d = &deltas[b][l];
                    (0..positions).map(move |p| Operand::Cell(d[o * positions + p].clone()))
                })
                .collect();
            shared.push(Operand::Constant(fp_from_i64(1i64 << s)));
            let cols_idx: Vec<usize> = (0..cols).collect();
            for group in cols_idx.chunks(lanes) {
                let lane_vecs: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|i| {
                        let mut v: Vec<Operand> = fwd
                            .iter()
                            .flat_map(|r| r.inputs[l].iter().map(|pos| pos[*i].clone()))
                            .collect();
                        v.push(Operand::Cell(w[o * cols + i].clone()));
                        v
                    })
                    .collect();
                let mut ns = layouter.namespace(|| "update");
                let dc = dot.dot_products(&mut ns, &shared, &lane_vecs)?;
                shared = cells(&dc.shared);
                for sum in &dc.sums {
                    new.push(rescale.rescale(&mut ns, sum, s, f.weight, None)?.q);
                }
            }
        }
        updated.push(new);
    }
    Ok(updated)
}
