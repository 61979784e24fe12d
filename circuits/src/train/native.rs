//! The native fixed-point SGD step: the one implementation the trainer runs and
//! the step circuit is tested against bit for bit.
//!
//! The model is [`TrainSpec::model`]: convolutions, pooling and dense layers.
//! A convolution's or dense layer's weight matrix has `outputs` rows and
//! `fan_in + 1` columns, the last the bias, whose input is the fixed-point one
//! of the layer's input scale. With `a` a layer's input:
//!
//! - forward: each layer as [`QModel::forward_layer`] computes it, keeping
//!   the pre-activations (ReLU's sign masks the backward pass);
//! - output delta (MSE, scaled by the learning rate):
//!   `d_o = rescale(lr_num * (onehot_o * 2^f_act - z_o))`, that is
//!   `-lr * dL/dz` with `L = (1/B) sum ||z - y||^2`; cross-entropy uses the
//!   softmax probabilities for `z` at their own scale;
//! - the delta of layer `l`'s output, from layer `l + 1`'s: `[pre >= 0] *
//!   rescale(g)` (the mask only after ReLU), `g` the transposed convolution
//!   or product `sum_o d_o W_oj` with the weights before the update, or a
//!   pool's delta sent back to its window ([`backward`](super::backward));
//! - update: `W' = rescale(sum_(b, p) d_(b, p) a_(b, p) + W * 2^s)`, the sum
//!   over the batch and a convolution's output positions.
//!
//! Every rescale rounds as [`rescale`](crate::fixed::ops::rescale) does and every
//! result is checked against its format; an overflow is an error naming the
//! tensor, never a wrapped value.

use serde::{Deserialize, Serialize};

use super::backward::{pool_gradient, InputTaps};
use super::spec::{Loss, TrainSpec, EXP_BITS, EXP_FRAC, PROB_FRAC};
use crate::fixed::ops::rescale;
use crate::fixed::{FixedError, QFormat};
use crate::infer::{QLayer, QModel};

/// The parameters of a model: per convolution or dense layer, `outputs x
/// (fan_in + 1)` integers (weights, bias last), row-major.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlpParams {
    /// One weight matrix per layer with weights.
    pub layers: Vec<Vec<i64>>,
}

impl MlpParams {
    /// All parameters, layer by layer, row-major: the order they are committed in.
    pub fn flatten(&self) -> Vec<i64> {
        self.layers.iter().flatten().copied().collect()
    }

    /// Rebuilds parameters from their flat order.
    pub fn unflatten(spec: &TrainSpec, flat: &[i64]) -> Option<Self> {
        if flat.len() != spec.n_params() {
            return None;
        }
        let mut layers = Vec::new();
        let mut at = 0;
        for (rows, cols) in spec.model().weight_shapes() {
            let n = rows * cols;
            layers.push(flat[at..at + n].to_vec());
            at += n;
        }
        Some(Self { layers })
    }

    /// Whether the matrices have the shapes `spec` gives.
    pub fn fits(&self, spec: &TrainSpec) -> bool {
        let shapes = spec.model().weight_shapes();
        self.layers.len() == shapes.len()
            && self
                .layers
                .iter()
                .zip(&shapes)
                .all(|(w, (r, c))| w.len() == r * c)
    }
}

/// A deterministic 64-bit generator (SplitMix64) for initialization, identical
/// on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `[-m, m]`, without modulo bias worth noting for
    /// `m` far below `2^64`.
    pub fn symmetric(&mut self, m: i64) -> i64 {
        (self.next_u64() % (2 * m as u64 + 1)) as i64 - m
    }
}

/// Glorot-uniform initial weights from a public seed, biases zero: a dense
/// layer's fans are its inputs and outputs, a convolution's its input and
/// output channels times the kernel's size.
pub fn init_params(spec: &TrainSpec, seed: u64) -> MlpParams {
    let mut rng = SplitMix64::new(seed);
    let fw = spec.formats.weight;
    let layers = spec
        .layer_list()
        .iter()
        .filter_map(|layer| {
            let (rows, cols) = layer.weight_shape()?;
            let fan_in = cols - 1;
            let fan_out = match layer {
                QLayer::Conv2d { kernel, .. } => rows * kernel[0] * kernel[1],
                _ => rows,
            };
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            let m = ((limit * fw.scale()).floor() as i64).clamp(0, fw.max());
            let mut w = Vec::with_capacity(rows * cols);
            for _ in 0..rows {
                for _ in 0..fan_in {
                    w.push(rng.symmetric(m));
                }
                w.push(0);
            }
            Some(w)
        })
        .collect();
    MlpParams { layers }
}

/// What one step computed for one batch row (for tests and reporting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowTrace {
    /// Each layer's input.
    pub input: Vec<Vec<i64>>,
    /// Each layer's pre-activation (its output if it has no activation).
    pub pre: Vec<Vec<i64>>,
    /// Each layer's output delta (learning-rate scaled; empty where no
    /// layer with weights comes before it).
    pub delta: Vec<Vec<i64>>,
}

/// The weights of layer `l` of `model`, or none.
fn layer_weights<'a>(model: &QModel, params: &'a MlpParams, l: usize) -> &'a [i64] {
    let i = model.layers[..l]
        .iter()
        .filter(|x| x.weight_shape().is_some())
        .count();
    match model.layers[l].weight_shape() {
        Some(_) => params.layers.get(i).map_or(&[], Vec::as_slice),
        None => &[],
    }
}

fn check_params(spec: &TrainSpec, params: &MlpParams) -> Result<(), FixedError> {
    if params.fits(spec) {
        return Ok(());
    }
    Err(FixedError::ShapeMismatch {
        op: "model parameters",
        expected: spec
            .model()
            .weight_shapes()
            .iter()
            .map(|(r, c)| r * c)
            .collect(),
        found: params.layers.iter().map(Vec::len).collect(),
    })
}

/// The forward pass of one input row (features at the input format): each
/// layer's input and pre-activation, and the logits.
fn forward_row(
    model: &QModel,
    params: &MlpParams,
    x: &[i64],
) -> Result<(RowTrace, Vec<i64>), FixedError> {
    let mut t = RowTrace {
        input: Vec::with_capacity(model.layers.len()),
        pre: Vec::with_capacity(model.layers.len()),
        delta: vec![Vec::new(); model.layers.len()],
    };
    let mut a = x.to_vec();
    for l in 0..model.layers.len() {
        let out = model.forward_layer(l, layer_weights(model, params, l), &a)?;
        t.input.push(std::mem::replace(&mut a, out.out));
        t.pre.push(out.pre);
    }
    Ok((t, a))
}

/// The logits of one input row.
pub fn logits(spec: &TrainSpec, params: &MlpParams, x: &[i64]) -> Result<Vec<i64>, FixedError> {
    check_params(spec, params)?;
    Ok(forward_row(&spec.model(), params, x)?.1)
}

/// The delta of layer `l`'s output from layer `l + 1`'s, for one row: the
/// transposed convolution (or product) with layer `l + 1`'s weights before
/// the update, or its pool's delta sent back, rescaled to the delta format
/// and masked by layer `l`'s ReLU.
fn backward_layer(
    spec: &TrainSpec,
    model: &QModel,
    params: &MlpParams,
    t: &RowTrace,
    l: usize,
) -> Result<Vec<i64>, FixedError> {
    let next = &model.layers[l + 1];
    let d = &t.delta[l + 1];
    let g = match InputTaps::of(next) {
        Some(taps) => {
            let outputs = next.weight_shape().map_or(0, |(r, _)| r);
            taps.gradient(d, layer_weights(model, params, l + 1), outputs)
        }
        None => pool_gradient(next, d, &t.input[l + 1]),
    };
    let relu = model.layers[l].activation().is_some();
    g.iter()
        .zip(&t.pre[l])
        .map(|(g, pre)| {
            let v = spec
                .formats
                .delta
                .check(rescale(*g, spec.backward_shift(l + 1)), "hidden delta")?;
            Ok(if !relu || *pre >= 0 { v } else { 0 })
        })
        .collect()
}

/// One SGD step on a batch of rows (features then label). Returns the new
/// parameters and a trace per row.
pub fn sgd_step(
    spec: &TrainSpec,
    params: &MlpParams,
    batch: &[Vec<i64>],
) -> Result<(MlpParams, Vec<RowTrace>), FixedError> {
    check_params(spec, params)?;
    let f = &spec.formats;
    let model = spec.model();
    let layers = model.layers.len();
    let n_classes = spec.classes();
    // Deltas are needed from the first layer with weights on.
    let first = model
        .layers
        .iter()
        .position(|l| l.weight_shape().is_some())
        .unwrap_or(layers);
    let mut traces = Vec::with_capacity(batch.len());
    for row in batch {
        let n = spec.input_len();
        if row.len() != n + 1 {
            return Err(FixedError::ShapeMismatch {
                op: "training row",
                expected: vec![n + 1],
                found: vec![row.len()],
            });
        }
        let (mut t, z) = forward_row(&model, params, &row[..n])?;
        let label = row[n];
        // Output delta: lr-scaled (onehot - prediction).
        let (target_one, prediction): (i128, Vec<i64>) = match spec.loss {
            Loss::Mse => (1i128 << f.activation.frac_bits(), z.clone()),
            Loss::CrossEntropy => (1i128 << PROB_FRAC, softmax(spec, &z)?),
        };
        t.delta[layers - 1] = (0..n_classes)
            .map(|o| {
                let y = if label == o as i64 { target_one } else { 0 };
                let v = spec.lr_num as i128 * (y - prediction[o] as i128);
                f.delta
                    .check(rescale(v, spec.output_delta_shift()), "output delta")
            })
            .collect::<Result<_, _>>()?;
        for l in (first..layers - 1).rev() {
            t.delta[l] = backward_layer(spec, &model, params, &t, l)?;
        }
        traces.push(t);
    }
    // Updates: every weight's gradient summed over the batch and positions.
    let mut new_layers = Vec::with_capacity(params.layers.len());
    for (l, layer) in model.layers.iter().enumerate() {
        let Some((rows, cols)) = layer.weight_shape() else {
            continue;
        };
        let w = layer_weights(&model, params, l);
        let s = spec.update_shift(l);
        let fields = layer.receptive_fields();
        let positions = fields.len();
        let one = spec.bias_input(l) as i128;
        let mut out = Vec::with_capacity(w.len());
        for o in 0..rows {
            for i in 0..cols {
                let mut grad: i128 = 0;
                for t in &traces {
                    for (p, field) in fields.iter().enumerate() {
                        let a = if i + 1 == cols {
                            one
                        } else {
                            field[i].map_or(0, |j| t.input[l][j] as i128)
                        };
                        grad += t.delta[l][o * positions + p] as i128 * a;
                    }
                }
                let u = grad + ((w[o * cols + i] as i128) << s);
                out.push(f.weight.check(rescale(u, s), "updated weight")?);
            }
        }
        new_layers.push(out);
    }
    Ok((MlpParams { layers: new_layers }, traces))
}

/// The table of the softmax's exponentials: for `r` in `[0, 2^EXP_BITS)`,
/// `round(2^PROB_FRAC * exp((r - (2^EXP_BITS - 1)) / 2^EXP_FRAC))`.
pub fn softmax_exp(r: i64) -> i64 {
    let k = (1i64 << EXP_BITS) - 1;
    crate::fixed::Activation::Exp.apply(
        (r - k) << (PROB_FRAC - EXP_FRAC),
        QFormat::constant(PROB_FRAC, PROB_FRAC + 2),
    )
}

/// The fixed-point softmax of logits, probabilities at `2^PROB_FRAC`:
///
/// - `m = max z`; `t_o = rescale(z_o - m + K 2^s, s)` with `K = 2^EXP_BITS - 1`
///   and `s` the shift to the exp table's scale; `r_o = max(t_o, 0)` (logits
///   more than `K / 2^EXP_FRAC` below the maximum are clamped);
/// - `e_o = softmax_exp(r_o)`, `S = sum e_o`;
/// - `p_o = floor((e_o 2^PROB_FRAC + floor(S / 2)) / S)` (division rounded to
///   nearest), proven as `p_o S + rem_o = e_o 2^PROB_FRAC + floor(S/2)` with
///   `0 <= rem_o < S`.
pub fn softmax(spec: &TrainSpec, z: &[i64]) -> Result<Vec<i64>, FixedError> {
    let st = softmax_trace(spec, z)?;
    Ok(st.p)
}

/// Every intermediate of [`softmax`], for witness generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxTrace {
    /// The largest logit.
    pub max: i64,
    /// `r_o`, the clamped exp-table inputs.
    pub r: Vec<i64>,
    /// `e_o`, the exponentials.
    pub e: Vec<i64>,
    /// `S`, their sum.
    pub sum: i64,
    /// `p_o`, the probabilities.
    pub p: Vec<i64>,
    /// `rem_o`, the division remainders.
    pub rem: Vec<i64>,
}

/// Computes [`softmax`] with its intermediates.
pub fn softmax_trace(spec: &TrainSpec, z: &[i64]) -> Result<SoftmaxTrace, FixedError> {
    let f = &spec.formats;
    let m = z.iter().copied().max().unwrap_or(0);
    let k = (1i128 << EXP_BITS) - 1;
    let s = spec.exp_shift();
    let mut r = Vec::with_capacity(z.len());
    for zo in z {
        let t = rescale(*zo as i128 - m as i128 + (k << s), s);
        let t = f.activation.check(t, "softmax exponent")?;
        r.push(t.max(0));
    }
    let e: Vec<i64> = r.iter().map(|x| softmax_exp(*x)).collect();
    let sum: i64 = e.iter().sum();
    let half = sum / 2;
    let p: Vec<i64> = e
        .iter()
        .map(|x| ((x << PROB_FRAC) + half) / sum.max(1))
        .collect();
    let rem: Vec<i64> = e
        .iter()
        .zip(&p)
        .map(|(x, q)| (x << PROB_FRAC) + half - q * sum)
        .collect();
    Ok(SoftmaxTrace {
        max: m,
        r,
        e,
        sum,
        p,
        rem,
    })
}

/// Index of the largest logit (the first on ties).
pub fn predict(spec: &TrainSpec, params: &MlpParams, x: &[i64]) -> Result<usize, FixedError> {
    let z = logits(spec, params, x)?;
    Ok(crate::infer::argmax(&z) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::spec::{Loss, TrainFormats};

    fn spec(widths: Vec<usize>) -> TrainSpec {
        TrainSpec {
            widths,
            conv: None,
            loss: Loss::Mse,
            lr_num: 64,
            lr_shift: 8,
            batch: 4,
            formats: TrainFormats::for_input(QFormat::new(6, 8).unwrap()),
        }
    }

    #[test]
    fn softmax_sums_to_about_one_and_orders_like_logits() {
        let s = TrainSpec {
            loss: Loss::CrossEntropy,
            ..spec(vec![2, 3])
        };
        let z = vec![512, 256, -4000];
        let t = softmax_trace(&s, &z).unwrap();
        let total: i64 = t.p.iter().sum();
        assert!((total - 256).abs() <= 2, "{t:?}");
        assert!(t.p[0] > t.p[1] && t.p[1] > t.p[2]);
        assert_eq!(t.p[2], 0, "far below the maximum clamps to zero");
        for o in 0..3 {
            assert_eq!(t.p[o] * t.sum + t.rem[o], (t.e[o] << PROB_FRAC) + t.sum / 2);
            assert!(t.rem[o] >= 0 && t.rem[o] < t.sum);
        }
        // Against the float softmax, within the fixed-point resolution.
        let zs: Vec<f64> = z.iter().map(|v| *v as f64 / 256.0).collect();
        let den: f64 = zs.iter().map(|v| (v - 2.0).exp()).sum();
        for (o, zo) in zs.iter().enumerate() {
            let want = (zo - 2.0).exp() / den * 256.0;
            assert!(
                (t.p[o] as f64 - want).abs() <= 2.0,
                "{o}: {} vs {want}",
                t.p[o]
            );
        }
    }

    #[test]
    fn specs_validate() {
        assert!(spec(vec![4, 8, 3]).validate().is_ok());
        let mut s = spec(vec![4, 3]);
        s.batch = 3;
        assert!(s.validate().is_err());
        assert_eq!(spec(vec![64, 32, 10]).n_params(), 65 * 32 + 33 * 10);
        assert!(spec(vec![1 << 20, 10]).validate().is_err(), "huge widths");
        assert!(
            spec(vec![4096, 4096, 4096]).validate().is_err(),
            "too many parameters"
        );
    }

    #[test]
    fn init_is_deterministic_and_bounded() {
        let s = spec(vec![4, 8, 3]);
        let a = init_params(&s, 7);
        assert_eq!(a, init_params(&s, 7));
        assert_ne!(a, init_params(&s, 8));
        assert!(a
            .flatten()
            .iter()
            .all(|w| w.abs() <= s.formats.weight.max()));
        assert_eq!(MlpParams::unflatten(&s, &a.flatten()), Some(a));
    }

    #[test]
    fn a_step_reduces_the_loss_on_a_separable_batch() {
        let s = spec(vec![2, 4, 2]);
        let mut p = init_params(&s, 3);
        let batch = vec![
            vec![64, 0, 0],
            vec![0, 64, 1],
            vec![60, 5, 0],
            vec![3, 62, 1],
        ];
        let loss = |p: &MlpParams| -> f64 {
            batch
                .iter()
                .map(|r| {
                    let z = logits(&s, p, &r[..2]).unwrap();
                    (0..2)
                        .map(|o| {
                            let y = if r[2] == o as i64 { 256.0 } else { 0.0 };
                            (z[o] as f64 - y).powi(2)
                        })
                        .sum::<f64>()
                })
                .sum()
        };
        let before = loss(&p);
        for _ in 0..30 {
            p = sgd_step(&s, &p, &batch).unwrap().0;
        }
        assert!(loss(&p) < before / 2.0, "{} -> {}", before, loss(&p));
    }
}
