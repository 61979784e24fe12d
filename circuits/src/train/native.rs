//! The native fixed-point SGD step: the one implementation the trainer runs and
//! the step circuit is tested against bit for bit.
//!
//! Layer `l` has a weight matrix of `widths[l+1]` rows and `widths[l] + 1`
//! columns; the last column is the bias, whose input is the fixed-point one of
//! the layer's input scale. With `a = [x, 1]`:
//!
//! - forward: `pre = rescale(W a)`, `h = relu(pre)` (not on the last layer);
//! - output delta (MSE, scaled by the learning rate):
//!   `d_o = rescale(lr_num * (onehot_o * 2^f_act - z_o))`, that is
//!   `-lr * dL/dz` with `L = (1/B) sum ||z - y||^2`;
//! - hidden delta: `d_j = [pre_j >= 0] * rescale(sum_o d_o W_oj)`, with the
//!   weights before the update;
//! - update: `W' = rescale(sum_b d_b a_b + W * 2^s)`, the sum over the batch.
//!
//! Every rescale rounds as [`rescale`](crate::fixed::ops::rescale) does and every
//! result is checked against its format; an overflow is an error naming the
//! tensor, never a wrapped value.

use serde::{Deserialize, Serialize};

use super::spec::{Loss, TrainSpec, EXP_BITS, EXP_FRAC, PROB_FRAC};
use crate::fixed::ops::rescale;
use crate::fixed::{FixedError, QFormat};

/// The parameters of an MLP: per layer, `outputs x (inputs + 1)` integers
/// (weights, bias last), row-major.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlpParams {
    /// One weight matrix per layer.
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
        for w in spec.widths.windows(2) {
            let n = (w[0] + 1) * w[1];
            layers.push(flat[at..at + n].to_vec());
            at += n;
        }
        Some(Self { layers })
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

/// Glorot-uniform initial weights from a public seed, biases zero.
pub fn init_params(spec: &TrainSpec, seed: u64) -> MlpParams {
    let mut rng = SplitMix64::new(seed);
    let fw = spec.formats.weight;
    let layers = spec
        .widths
        .windows(2)
        .map(|w| {
            let (fan_in, fan_out) = (w[0], w[1]);
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            let m = ((limit * fw.scale()).floor() as i64).clamp(0, fw.max());
            let mut layer = Vec::with_capacity((fan_in + 1) * fan_out);
            for _ in 0..fan_out {
                for _ in 0..fan_in {
                    layer.push(rng.symmetric(m));
                }
                layer.push(0);
            }
            layer
        })
        .collect();
    MlpParams { layers }
}

/// What one step computed for one batch row (for tests and reporting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowTrace {
    /// Each layer's rescaled pre-activation.
    pub pre: Vec<Vec<i64>>,
    /// Each layer's delta (learning-rate scaled).
    pub delta: Vec<Vec<i64>>,
}

fn check(fmt: QFormat, v: i128, what: &str) -> Result<i64, FixedError> {
    fmt.check(v, what)
}

/// Per-layer vectors of one row.
type PerLayer = Vec<Vec<i64>>;

/// The forward pass of one input row (features at the input format): each
/// layer's `[x, 1]`-augmented input and its rescaled pre-activation.
fn forward_row(
    spec: &TrainSpec,
    params: &MlpParams,
    x: &[i64],
) -> Result<(PerLayer, PerLayer), FixedError> {
    let f = &spec.formats;
    let mut inputs = Vec::with_capacity(spec.layers());
    let mut pres = Vec::with_capacity(spec.layers());
    let mut a: Vec<i64> = x.to_vec();
    for (l, w) in params.layers.iter().enumerate() {
        a.push(spec.bias_input(l));
        let n_in = a.len();
        let n_out = spec.widths[l + 1];
        let mut pre = Vec::with_capacity(n_out);
        for o in 0..n_out {
            let acc: i128 = (0..n_in)
                .map(|i| a[i] as i128 * w[o * n_in + i] as i128)
                .sum();
            pre.push(check(
                f.activation,
                rescale(acc, spec.forward_shift(l)),
                "pre-activation",
            )?);
        }
        inputs.push(a);
        a = if l + 1 < spec.layers() {
            pre.iter().map(|v| (*v).max(0)).collect()
        } else {
            pre.clone()
        };
        pres.push(pre);
    }
    Ok((inputs, pres))
}

/// The logits of one input row.
pub fn logits(spec: &TrainSpec, params: &MlpParams, x: &[i64]) -> Result<Vec<i64>, FixedError> {
    let (_, mut pres) = forward_row(spec, params, x)?;
    Ok(pres.pop().unwrap_or_default())
}

/// One SGD step on a batch of rows (features then label). Returns the new
/// parameters and a trace per row.
pub fn sgd_step(
    spec: &TrainSpec,
    params: &MlpParams,
    batch: &[Vec<i64>],
) -> Result<(MlpParams, Vec<RowTrace>), FixedError> {
    let f = &spec.formats;
    let layers = spec.layers();
    let n_classes = spec.widths[layers];
    let mut all_inputs = Vec::with_capacity(batch.len());
    let mut traces = Vec::with_capacity(batch.len());
    for row in batch {
        let n = spec.widths[0];
        if row.len() != n + 1 {
            return Err(FixedError::ShapeMismatch {
                op: "training row",
                expected: vec![n + 1],
                found: vec![row.len()],
            });
        }
        let (inputs, pres) = forward_row(spec, params, &row[..n])?;
        let label = row[n];
        // Output delta: lr-scaled (onehot - prediction).
        let z = &pres[layers - 1];
        let (target_one, prediction): (i128, Vec<i64>) = match spec.loss {
            Loss::Mse => (1i128 << f.activation.frac_bits(), z.clone()),
            Loss::CrossEntropy => (1i128 << PROB_FRAC, softmax(spec, z)?),
        };
        let mut delta: Vec<Vec<i64>> = vec![Vec::new(); layers];
        delta[layers - 1] = (0..n_classes)
            .map(|o| {
                let y = if label == o as i64 { target_one } else { 0 };
                let v = spec.lr_num as i128 * (y - prediction[o] as i128);
                check(
                    f.delta,
                    rescale(v, spec.output_delta_shift()),
                    "output delta",
                )
            })
            .collect::<Result<_, _>>()?;
        // Hidden deltas, with the weights before the update.
        for l in (0..layers - 1).rev() {
            let w = &params.layers[l + 1];
            let n_in = spec.widths[l + 1] + 1;
            let d_next = &delta[l + 1];
            delta[l] = (0..spec.widths[l + 1])
                .map(|j| {
                    let acc: i128 = d_next
                        .iter()
                        .enumerate()
                        .map(|(o, d)| *d as i128 * w[o * n_in + j] as i128)
                        .sum();
                    let v = check(
                        f.delta,
                        rescale(acc, spec.hidden_delta_shift()),
                        "hidden delta",
                    )?;
                    Ok(if pres[l][j] >= 0 { v } else { 0 })
                })
                .collect::<Result<_, FixedError>>()?;
        }
        all_inputs.push(inputs);
        traces.push(RowTrace { pre: pres, delta });
    }
    // Updates.
    let mut new_layers = Vec::with_capacity(layers);
    for l in 0..layers {
        let w = &params.layers[l];
        let n_in = spec.widths[l] + 1;
        let s = spec.update_shift(l);
        let mut out = Vec::with_capacity(w.len());
        for o in 0..spec.widths[l + 1] {
            for i in 0..n_in {
                let grad: i128 = traces
                    .iter()
                    .zip(&all_inputs)
                    .map(|(t, a)| t.delta[l][o] as i128 * a[l][i] as i128)
                    .sum();
                let u = grad + ((w[o * n_in + i] as i128) << s);
                out.push(check(f.weight, rescale(u, s), "updated weight")?);
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
    let mut best = 0;
    for (i, v) in z.iter().enumerate() {
        if *v > z[best] {
            best = i;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::spec::{Loss, TrainFormats};

    fn spec(widths: Vec<usize>) -> TrainSpec {
        TrainSpec {
            widths,
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
