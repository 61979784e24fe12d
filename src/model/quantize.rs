//! Calibration and quantization: from a float [`Model`] and sample inputs to
//! the fixed-point [`QModel`] and weights the circuits prove, with a report of
//! the quantization error on those inputs.
//!
//! Formats are chosen per model: weights get the most fractional bits that keep
//! the largest weight or bias inside `weight_bits`; activations the most that
//! keep the largest value of any layer on the calibration inputs (with a 50%
//! margin) inside `activation_bits`; inputs likewise inside `input_bits`.

use serde::Serialize;
use zkpot_circuits::fixed::{Activation, QFormat};
use zkpot_circuits::infer::{QLayer, QModel, QWeights};
use zkpot_circuits::train::{MlpParams, TrainSpec};

use super::ir::{Layer, Model};
use super::ModelError;
use crate::Error;

/// Bit widths of a quantized model.
#[derive(Clone, Copy, Debug)]
pub struct QuantOptions {
    /// Signed bits of weights.
    pub weight_bits: u32,
    /// Signed bits of activations; at most [`TABLE_ACTIVATION_BITS`] in
    /// models with a table activation (sigmoid, tanh, leaky ReLU, ReLU6), whose table
    /// has a row for every activation value.
    pub activation_bits: u32,
    /// Signed bits of inputs.
    pub input_bits: u32,
    /// The input format, when it is given rather than calibrated (a
    /// committed dataset's feature format, which an evaluation must read
    /// its rows in).
    pub input: Option<QFormat>,
}

/// The widest activations of a model with a table activation: its table
/// then has at most 4,096 rows, so such a model proves at about `k = 13`
/// instead of the `k = 17`-18 a 16-bit table needs.
pub const TABLE_ACTIVATION_BITS: u32 = 12;

impl Default for QuantOptions {
    fn default() -> Self {
        Self {
            weight_bits: 8,
            activation_bits: 16,
            input_bits: 16,
            input: None,
        }
    }
}

/// How far the quantized model is from the float one on the calibration inputs.
#[derive(Clone, Debug, Serialize)]
pub struct QuantReport {
    /// Calibration inputs evaluated.
    pub samples: usize,
    /// Largest absolute error of any output.
    pub max_abs_error: f64,
    /// Mean absolute error of the outputs.
    pub mean_abs_error: f64,
    /// Fraction of inputs on which both models pick the same top class.
    pub top1_agreement: f64,
}

/// A quantized model, its weights and the error report.
#[derive(Clone, Debug)]
pub struct Quantized {
    /// The public description.
    pub model: QModel,
    /// The weights.
    pub weights: QWeights,
    /// The quantization error on the calibration inputs.
    pub report: QuantReport,
}

/// The most fractional bits (at most 24) keeping `max` inside `bits` signed.
fn frac_for(max: f64, bits: u32) -> u32 {
    let limit = ((1u64 << (bits - 1)) - 1) as f64;
    if max <= 0.0 {
        return (bits - 1).min(24);
    }
    let f = (limit / max).log2().floor();
    f.clamp(0.0, 24.0) as u32
}

fn max_abs<'a>(xs: impl Iterator<Item = &'a f32>) -> f64 {
    xs.fold(0.0f64, |m, v| m.max(v.abs() as f64))
}

/// The index of the largest value (the first on ties).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// A float model's layers as quantized-model layers (shapes, each
/// activation fused into the layer before it), with each weighted layer's
/// float weights, biases and fan-in.
#[allow(clippy::type_complexity)]
pub fn layer_shapes(
    model: &Model,
) -> Result<(Vec<QLayer>, Vec<(&Vec<f32>, &Vec<f32>, usize)>), Error> {
    let mut layers: Vec<QLayer> = Vec::new();
    let mut float_weights: Vec<(&Vec<f32>, &Vec<f32>, usize)> = Vec::new();
    for l in &model.layers {
        match l {
            Layer::Dense {
                inputs,
                outputs,
                weight,
                bias,
            } => {
                layers.push(QLayer::Dense {
                    inputs: *inputs,
                    outputs: *outputs,
                    activation: None,
                });
                float_weights.push((weight, bias, *inputs));
            }
            Layer::Conv2d {
                in_channels,
                out_channels,
                height,
                width,
                kernel,
                stride,
                padding,
                weight,
                bias,
            } => {
                layers.push(QLayer::Conv2d {
                    in_channels: *in_channels,
                    out_channels: *out_channels,
                    height: *height,
                    width: *width,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    activation: None,
                });
                float_weights.push((weight, bias, in_channels * kernel[0] * kernel[1]));
            }
            Layer::AvgPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            } => layers.push(QLayer::AvgPool2d {
                channels: *channels,
                height: *height,
                width: *width,
                kernel: *kernel,
                stride: *stride,
            }),
            Layer::Argmax => {
                let inputs = layers.last().map_or(model.input_len, QLayer::output_len);
                layers.push(QLayer::Argmax { inputs })
            }
            Layer::MaxPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            } => layers.push(QLayer::MaxPool2d {
                channels: *channels,
                height: *height,
                width: *width,
                kernel: *kernel,
                stride: *stride,
            }),
            Layer::Relu | Layer::Sigmoid | Layer::Tanh | Layer::Relu6 | Layer::LeakyRelu { .. } => {
                let act = match l {
                    Layer::Relu => Activation::Relu,
                    Layer::Sigmoid => Activation::Sigmoid,
                    Layer::Tanh => Activation::Tanh,
                    Layer::Relu6 => Activation::Relu6,
                    Layer::LeakyRelu { alpha } => Activation::LeakyRelu(
                        (*alpha as f64 * f64::from(zkpot_circuits::fixed::LEAKY_ONE)).round()
                            as u32,
                    ),
                    _ => Activation::Relu,
                };
                // ReLU commutes with max pooling (relu(max) = max(relu)), so
                // conv -> max pool -> ReLU fuses the ReLU into the conv.
                let n = layers.len();
                let target = match layers.as_slice() {
                    [.., QLayer::Conv2d { .. } | QLayer::Dense { .. }, QLayer::MaxPool2d { .. }]
                        if act == Activation::Relu =>
                    {
                        n.checked_sub(2)
                    }
                    _ => n.checked_sub(1),
                };
                match target.and_then(|t| layers.get_mut(t)) {
                    Some(QLayer::Dense { activation, .. } | QLayer::Conv2d { activation, .. })
                        if activation.is_none() =>
                    {
                        *activation = Some(act)
                    }
                    _ => {
                        return Err(ModelError::Shape(format!(
                            "{act} must come directly after a dense or convolution layer \
                             (or a max pool after one)"
                        ))
                        .into())
                    }
                }
            }
        }
    }
    Ok((layers, float_weights))
}

/// Quantizes `model` with formats calibrated on `calibration` inputs.
pub fn quantize(
    model: &Model,
    calibration: &[Vec<f64>],
    opts: QuantOptions,
) -> Result<Quantized, Error> {
    model.validate()?;
    if calibration.is_empty() {
        return Err(Error::Options(
            "quantization needs at least one calibration input".into(),
        ));
    }
    for (i, x) in calibration.iter().enumerate() {
        if x.len() != model.input_len {
            return Err(ModelError::Shape(format!(
                "calibration input {i} has {} values, the model takes {}",
                x.len(),
                model.input_len
            ))
            .into());
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                what: format!("calibration input {i}"),
            }
            .into());
        }
    }
    let (layers, float_weights) = layer_shapes(model)?;
    // Formats.
    let wmax = float_weights
        .iter()
        .map(|(w, b, _)| max_abs(w.iter()).max(max_abs(b.iter())))
        .fold(0.0, f64::max);
    let weight = QFormat::new(frac_for(wmax, opts.weight_bits), opts.weight_bits)?;
    for (l, (w, b, _)) in float_weights.iter().enumerate() {
        if let Some(v) = w
            .iter()
            .chain(b.iter())
            .find(|v| !holds(weight, **v as f64))
        {
            return Err(out_of_range(
                format!("a weight of layer {l} (counting from 0)"),
                *v as f64,
                weight,
                format!("; no {}-bit weight format holds it", opts.weight_bits),
            ));
        }
    }
    let mut amax = 0.0f64;
    let mut xmax = 0.0f64;
    let floats: Vec<Vec<Vec<f64>>> = calibration.iter().map(|x| model.forward(x)).collect();
    for (x, outs) in calibration.iter().zip(&floats) {
        xmax = x.iter().fold(xmax, |m, v| m.max(v.abs()));
        // An argmax's output is a class index, not an activation.
        for (o, l) in outs.iter().zip(&model.layers) {
            if !matches!(l, Layer::Argmax) {
                amax = o.iter().fold(amax, |m, v| m.max(v.abs()));
            }
        }
    }
    let tabled = model.layers.iter().any(|l| {
        matches!(
            l,
            Layer::Sigmoid | Layer::Tanh | Layer::Relu6 | Layer::LeakyRelu { .. }
        )
    });
    let activation_bits = match tabled {
        true => opts.activation_bits.min(TABLE_ACTIVATION_BITS),
        false => opts.activation_bits,
    };
    let mut activation = QFormat::new(frac_for(amax * 1.5, activation_bits), activation_bits)?;
    let input = match opts.input {
        Some(f) => f,
        None => {
            let f = QFormat::new(frac_for(xmax, opts.input_bits), opts.input_bits)?;
            for (i, x) in calibration.iter().enumerate() {
                if let Some((j, v)) = x.iter().enumerate().find(|(_, v)| !holds(f, **v)) {
                    return Err(out_of_range(
                        format!("value {j} of calibration input {i} (counting from 0)"),
                        *v,
                        f,
                        format!(
                            "; no {}-bit input format holds it: scale the inputs",
                            opts.input_bits
                        ),
                    ));
                }
            }
            f
        }
    };
    if input.frac_bits() + weight.frac_bits() < activation.frac_bits() {
        activation = activation.with_frac_bits(input.frac_bits() + weight.frac_bits())?;
    }
    let qmodel = QModel {
        input,
        activation,
        weight,
        layers,
    };
    qmodel.validate()?;
    // Weights, bias last in every row.
    let mut weights: QWeights = Vec::with_capacity(float_weights.len());
    for (w, b, fan_in) in &float_weights {
        let mut q = Vec::with_capacity(w.len() + b.len());
        for (o, bias) in b.iter().enumerate() {
            for v in &w[o * fan_in..(o + 1) * fan_in] {
                q.push(weight.quantize(*v as f64, q.len(), "weights")?);
            }
            q.push(weight.quantize(*bias as f64, q.len(), "bias")?);
        }
        weights.push(q);
    }
    // Report: errors on the outputs, or on the logits before an argmax, whose
    // top-1 agreement is then the argmax's.
    let head = usize::from(qmodel.ends_in_argmax());
    let mut max_err = 0.0f64;
    let mut sum_err = 0.0;
    let mut count = 0usize;
    let mut agree = 0usize;
    for (x, outs) in calibration.iter().zip(&floats) {
        let qx = quantize_input(&qmodel, x)?;
        let q = qmodel.forward(&weights, &qx)?;
        let y_fixed: Vec<f64> = q
            .get(q.len().saturating_sub(1 + head))
            .map(|v| v.iter().map(|x| activation.dequantize(*x)).collect())
            .unwrap_or_default();
        let y_float = outs
            .get(outs.len().saturating_sub(1 + head))
            .cloned()
            .unwrap_or_default();
        for (a, b) in y_fixed.iter().zip(&y_float) {
            let e = (a - b).abs();
            max_err = max_err.max(e);
            sum_err += e;
            count += 1;
        }
        if argmax(&y_fixed) == argmax(&y_float) {
            agree += 1;
        }
    }
    Ok(Quantized {
        model: qmodel,
        weights,
        report: QuantReport {
            samples: calibration.len(),
            max_abs_error: max_err,
            mean_abs_error: sum_err / count.max(1) as f64,
            top1_agreement: agree as f64 / calibration.len() as f64,
        },
    })
}

/// The error of `value`, named `what`, not fitting `format`.
fn out_of_range(what: String, value: f64, format: QFormat, hint: String) -> Error {
    ModelError::OutOfRange {
        what,
        value,
        format: format.to_string(),
        min: format.dequantize(format.min()),
        max: format.dequantize(format.max()),
        hint,
    }
    .into()
}

/// Whether `value` quantizes inside `format`.
fn holds(format: QFormat, value: f64) -> bool {
    format.quantize(value, 0, "").is_ok()
}

/// Quantizes an input for `model`, failing on values outside its format.
pub fn quantize_input(model: &QModel, x: &[f64]) -> Result<Vec<i64>, Error> {
    quantize_batch_input(model, x, None)
}

/// [`quantize_input`] for input `batch` of several (named in errors).
pub fn quantize_batch_input(
    model: &QModel,
    x: &[f64],
    batch: Option<usize>,
) -> Result<Vec<i64>, Error> {
    if x.len() != model.input_len() {
        return Err(ModelError::Shape(format!(
            "the input has {} values, the model takes {}",
            x.len(),
            model.input_len()
        ))
        .into());
    }
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            model.input.quantize(*v, i, "input").map_err(|_| {
                let what = match batch {
                    Some(k) => format!("value {i} of input {k} (counting from 0)"),
                    None => format!("input value {i} (counting from 0)"),
                };
                out_of_range(
                    what,
                    *v,
                    model.input,
                    "; inputs must lie in the range the model was quantized for (its \
                     calibration inputs, or a trained run's normalized features)"
                        .into(),
                )
            })
        })
        .collect()
}

/// The quantized model of a trained run (an MLP or a CNN): its formats and
/// weights exactly, so an inference proof's `C_W` can equal the run's final
/// commitment.
pub fn from_trained(spec: &TrainSpec, params: &MlpParams) -> (QModel, QWeights) {
    (spec.model(), params.layers.clone())
}
