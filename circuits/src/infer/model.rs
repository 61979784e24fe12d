//! A quantized model: its public description (layers, shapes, formats) and the
//! native fixed-point forward pass the inference circuit is tested against.
//!
//! Tensors are flat, channel-major (`c, y, x`) as ONNX's NCHW flattens. Every
//! parametrized layer's weights are `outputs x (fan_in + 1)` integers, the bias
//! last, whose input is the fixed-point one of the activation scale, so its
//! product lands at the accumulator scale like every other.

use serde::{Deserialize, Serialize};

use crate::envelope::{bound, shift, EnvelopeError};
use crate::fixed::ops::rescale;
use crate::fixed::{Activation, FixedError, QFormat};

/// One layer of a quantized model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum QLayer {
    /// `y = act(rescale(W [x, 1]))`.
    Dense {
        /// Input length.
        inputs: usize,
        /// Output length.
        outputs: usize,
        /// Optional activation.
        activation: Option<Activation>,
    },
    /// A 2-D convolution over `channels x height x width` inputs, zero padded.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels.
        out_channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Kernel height and width.
        kernel: [usize; 2],
        /// Stride (both axes).
        stride: usize,
        /// Zero padding (both axes, both sides).
        padding: usize,
        /// Optional activation.
        activation: Option<Activation>,
    },
    /// Average pooling over `k x k` windows (`k * k` a power of two).
    AvgPool2d {
        /// Channels.
        channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Window size.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// The index of the largest input (the first one on ties), as a plain
    /// integer; only as the last layer.
    Argmax {
        /// Input length (the number of classes).
        inputs: usize,
    },
    /// Max pooling over `k x k` windows; it keeps its input's scale.
    MaxPool2d {
        /// Channels.
        channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Window size.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
}

impl QLayer {
    /// Input length.
    pub fn input_len(&self) -> usize {
        match self {
            QLayer::Dense { inputs, .. } | QLayer::Argmax { inputs } => *inputs,
            QLayer::Conv2d {
                in_channels,
                height,
                width,
                ..
            } => in_channels * height * width,
            QLayer::AvgPool2d {
                channels,
                height,
                width,
                ..
            }
            | QLayer::MaxPool2d {
                channels,
                height,
                width,
                ..
            } => channels * height * width,
        }
    }

    /// Output height and width of a convolution or pooling.
    pub fn out_hw(&self) -> (usize, usize) {
        match self {
            QLayer::Conv2d {
                height,
                width,
                kernel,
                stride,
                padding,
                ..
            } => (
                (height + 2 * padding - kernel[0]) / stride + 1,
                (width + 2 * padding - kernel[1]) / stride + 1,
            ),
            QLayer::AvgPool2d {
                height,
                width,
                kernel,
                stride,
                ..
            }
            | QLayer::MaxPool2d {
                height,
                width,
                kernel,
                stride,
                ..
            } => (
                (height - kernel) / stride + 1,
                (width - kernel) / stride + 1,
            ),
            QLayer::Dense { outputs, .. } => (1, *outputs),
            QLayer::Argmax { .. } => (1, 1),
        }
    }

    /// Output positions: one for a dense layer or an argmax, one per output
    /// pixel for a convolution, one per output for pooling.
    pub fn positions(&self) -> usize {
        match self {
            QLayer::Dense { .. } | QLayer::Argmax { .. } => 1,
            QLayer::Conv2d { .. } => {
                let (h, w) = self.out_hw();
                h * w
            }
            QLayer::AvgPool2d { .. } | QLayer::MaxPool2d { .. } => self.output_len(),
        }
    }

    /// Output length.
    pub fn output_len(&self) -> usize {
        let (h, w) = self.out_hw();
        match self {
            QLayer::Dense { outputs, .. } => *outputs,
            QLayer::Argmax { .. } => 1,
            QLayer::Conv2d { out_channels, .. } => out_channels * h * w,
            QLayer::AvgPool2d { channels, .. } | QLayer::MaxPool2d { channels, .. } => {
                channels * h * w
            }
        }
    }

    /// `(rows, columns)` of the layer's weight matrix, if it has one.
    pub fn weight_shape(&self) -> Option<(usize, usize)> {
        match self {
            QLayer::Dense {
                inputs, outputs, ..
            } => Some((*outputs, inputs + 1)),
            QLayer::Conv2d {
                in_channels,
                out_channels,
                kernel,
                ..
            } => Some((*out_channels, in_channels * kernel[0] * kernel[1] + 1)),
            QLayer::AvgPool2d { .. } | QLayer::MaxPool2d { .. } | QLayer::Argmax { .. } => None,
        }
    }

    /// The layer's activation.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            QLayer::Dense { activation, .. } | QLayer::Conv2d { activation, .. } => *activation,
            QLayer::AvgPool2d { .. } | QLayer::MaxPool2d { .. } | QLayer::Argmax { .. } => None,
        }
    }

    /// For each output position (one for a dense layer, one per pixel for a
    /// convolution, one per output for pooling), its input indices in product
    /// order (`None` for zero padding); a bias comes after them.
    pub fn receptive_fields(&self) -> Vec<Vec<Option<usize>>> {
        match self {
            QLayer::Dense { inputs, .. } | QLayer::Argmax { inputs } => {
                vec![(0..*inputs).map(Some).collect()]
            }
            QLayer::Conv2d {
                in_channels,
                height,
                width,
                kernel,
                stride,
                padding,
                ..
            } => {
                let (oh, ow) = self.out_hw();
                let mut out = Vec::with_capacity(oh * ow);
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut f = Vec::with_capacity(in_channels * kernel[0] * kernel[1]);
                        for ic in 0..*in_channels {
                            for ky in 0..kernel[0] {
                                for kx in 0..kernel[1] {
                                    let y = (oy * stride + ky) as isize - *padding as isize;
                                    let x = (ox * stride + kx) as isize - *padding as isize;
                                    let inside = y >= 0
                                        && x >= 0
                                        && (y as usize) < *height
                                        && (x as usize) < *width;
                                    f.push(inside.then(|| {
                                        ic * height * width + y as usize * width + x as usize
                                    }));
                                }
                            }
                        }
                        out.push(f);
                    }
                }
                out
            }
            QLayer::AvgPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            }
            | QLayer::MaxPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            } => {
                let (oh, ow) = self.out_hw();
                let mut out = Vec::with_capacity(channels * oh * ow);
                for c in 0..*channels {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut f = Vec::with_capacity(kernel * kernel);
                            for ky in 0..*kernel {
                                for kx in 0..*kernel {
                                    f.push(Some(
                                        c * height * width
                                            + (oy * stride + ky) * width
                                            + ox * stride
                                            + kx,
                                    ));
                                }
                            }
                            out.push(f);
                        }
                    }
                }
                out
            }
        }
    }
}

/// The largest dimension (channels, height, width, kernel, features) a layer
/// may have.
const MAX_DIM: u64 = 1 << 16;

/// Checks one layer's dimensions: every size at least 1 and at most
/// [`MAX_DIM`], strides at least 1 and windows inside their (padded) input,
/// so shapes can be computed without dividing by zero or underflowing.
fn check_layer(i: usize, l: &QLayer) -> Result<(), EnvelopeError> {
    let dim = |name: &str, v: usize, min: u64| {
        bound(|| format!("{name} of layer {i}"), v as u64, min, MAX_DIM)
    };
    let window = |what: &str, k: usize, room: usize| {
        bound(
            || format!("{what} of layer {i}"),
            k as u64,
            1,
            (room as u64).min(MAX_DIM),
        )
    };
    match l {
        QLayer::Dense {
            inputs, outputs, ..
        } => {
            dim("inputs", *inputs, 1)?;
            dim("outputs", *outputs, 1)
        }
        QLayer::Argmax { inputs } => bound(
            || format!("inputs of layer {i} (argmax)"),
            *inputs as u64,
            1,
            MAX_ARGMAX_CLASSES as u64,
        ),
        QLayer::Conv2d {
            in_channels,
            out_channels,
            height,
            width,
            kernel,
            stride,
            padding,
            ..
        } => {
            dim("input channels", *in_channels, 1)?;
            dim("output channels", *out_channels, 1)?;
            dim("height", *height, 1)?;
            dim("width", *width, 1)?;
            dim("padding", *padding, 0)?;
            dim("stride", *stride, 1)?;
            window("kernel height", kernel[0], height + 2 * padding)?;
            window("kernel width", kernel[1], width + 2 * padding)
        }
        QLayer::AvgPool2d {
            channels,
            height,
            width,
            kernel,
            stride,
        }
        | QLayer::MaxPool2d {
            channels,
            height,
            width,
            kernel,
            stride,
        } => {
            dim("channels", *channels, 1)?;
            dim("height", *height, 1)?;
            dim("width", *width, 1)?;
            dim("stride", *stride, 1)?;
            window("pooling window", *kernel, (*height).min(*width))?;
            if matches!(l, QLayer::AvgPool2d { .. }) && !(kernel * kernel).is_power_of_two() {
                return Err(EnvelopeError::Unsupported {
                    field: format!("pooling window of layer {i}"),
                    reason: "average pooling needs a window of a power-of-two size",
                });
            }
            Ok(())
        }
    }
}

/// A layer's sizes in `i128`, computed from dimensions that
/// [`check_layer`] bounded, so no product overflows before it is bounded.
struct Sizes {
    input: i128,
    output: i128,
    weights: i128,
    positions: i128,
    /// Entries of one pooling window (0 for other layers).
    window: i128,
}

impl Sizes {
    fn of(l: &QLayer) -> Self {
        let n = |v: usize| v as i128;
        match l {
            QLayer::Dense {
                inputs, outputs, ..
            } => Sizes {
                input: n(*inputs),
                output: n(*outputs),
                weights: n(*outputs) * (n(*inputs) + 1),
                positions: 1,
                window: 0,
            },
            QLayer::Argmax { inputs } => Sizes {
                input: n(*inputs),
                output: 1,
                weights: 0,
                positions: 1,
                window: n(*inputs),
            },
            QLayer::Conv2d {
                in_channels,
                out_channels,
                height,
                width,
                kernel,
                stride,
                padding,
                ..
            } => {
                let oh = (n(*height) + 2 * n(*padding) - n(kernel[0])) / n(*stride) + 1;
                let ow = (n(*width) + 2 * n(*padding) - n(kernel[1])) / n(*stride) + 1;
                Sizes {
                    input: n(*in_channels) * n(*height) * n(*width),
                    output: n(*out_channels) * oh * ow,
                    weights: n(*out_channels) * (n(*in_channels) * n(kernel[0]) * n(kernel[1]) + 1),
                    positions: oh * ow,
                    window: 0,
                }
            }
            QLayer::AvgPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            }
            | QLayer::MaxPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            } => {
                let oh = (n(*height) - n(*kernel)) / n(*stride) + 1;
                let ow = (n(*width) - n(*kernel)) / n(*stride) + 1;
                let output = n(*channels) * oh * ow;
                Sizes {
                    input: n(*channels) * n(*height) * n(*width),
                    output,
                    weights: 0,
                    positions: output,
                    window: n(*kernel) * n(*kernel),
                }
            }
        }
    }
}

/// The public description of a quantized model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QModel {
    /// Format of the model's input.
    pub input: QFormat,
    /// Format of activations (every layer's output).
    pub activation: QFormat,
    /// Format of weights.
    pub weight: QFormat,
    /// The layers, in order.
    pub layers: Vec<QLayer>,
}

/// The most inputs an argmax head takes (its one-hot table has the square
/// of this many entries).
pub const MAX_ARGMAX_CLASSES: usize = 64;

/// A quantized model's weights: one matrix per parametrized layer, row-major.
pub type QWeights = Vec<Vec<i64>>;

impl QModel {
    /// Input length.
    pub fn input_len(&self) -> usize {
        self.layers.first().map_or(0, QLayer::input_len)
    }

    /// Output length.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(0, QLayer::output_len)
    }

    /// The most work one forward pass may take: multiply-adds, plus every
    /// entry of every pooling window, plus every output. The widest inference
    /// layout computes 8 multiply-adds a row and the largest circuit has 2^22
    /// rows, so more cannot be proven; bounding it before planning keeps a
    /// hostile statement from costing the verifier more than a real one.
    pub const MAX_WORK: i128 = 1 << 25;

    /// The most fractional bits of an inference format (a bias's input is
    /// `2^f`, an `i64`).
    pub const MAX_FRAC_BITS: u32 = 32;

    /// The longest tensor between two layers, and the most weights.
    pub const MAX_TENSOR: i128 = 1 << 24;

    /// The widest weights an inference circuit range-checks and packs.
    pub const MAX_WEIGHT_BITS: u32 = 16;

    /// The widest inputs and activations an inference circuit supports.
    pub const MAX_ACTIVATION_BITS: u32 = 24;

    /// Checks the model against the supported envelope
    /// ([`envelope`](crate::envelope)), in an order that never divides by a
    /// stride or subtracts a window before they are checked: formats, each
    /// layer's dimensions, then sizes (computed without allocating), the
    /// chain of shapes and every rescale shift. The error names the layer and
    /// the field.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        self.validate_work().map(|_| ())
    }

    /// Checks a batch of `batch` forward passes against the envelope: the
    /// model as [`validate`](Self::validate) does, and the batch's work
    /// (`batch` times one pass's) at most [`MAX_WORK`](Self::MAX_WORK), so a
    /// hostile batch costs a verifier no more than the largest single model.
    pub fn validate_batch(&self, batch: usize) -> Result<(), EnvelopeError> {
        let work = self.validate_work()?;
        bound(
            || format!("work of {batch} forward passes (multiply-adds, window entries, outputs)"),
            work.saturating_mul(batch as i128),
            0,
            Self::MAX_WORK,
        )
    }

    /// [`validate`](Self::validate), returning one pass's work.
    fn validate_work(&self) -> Result<i128, EnvelopeError> {
        bound(
            || "number of layers".into(),
            self.layers.len() as u64,
            1,
            256,
        )?;
        for (name, q, max) in [
            ("input", self.input, Self::MAX_ACTIVATION_BITS),
            ("activation", self.activation, Self::MAX_ACTIVATION_BITS),
            ("weight", self.weight, Self::MAX_WEIGHT_BITS),
        ] {
            bound(
                || format!("value bits of the {name} format"),
                q.bits(),
                1,
                max,
            )?;
            bound(
                || format!("fractional bits of the {name} format"),
                q.frac_bits(),
                0,
                Self::MAX_FRAC_BITS,
            )?;
        }
        let mut work: i128 = 0;
        for (i, l) in self.layers.iter().enumerate() {
            check_layer(i, l)?;
            if matches!(l, QLayer::Argmax { .. }) && i + 1 != self.layers.len() {
                return Err(EnvelopeError::Unsupported {
                    field: format!("layer {i}"),
                    reason: "argmax can only be the last layer",
                });
            }
            let sz = Sizes::of(l);
            for (what, n) in [
                ("input length", sz.input),
                ("output length", sz.output),
                ("weights", sz.weights),
            ] {
                bound(|| format!("{what} of layer {i}"), n, 0, Self::MAX_TENSOR)?;
            }
            work += sz.weights * sz.positions + sz.window * sz.positions + sz.output;
            bound(
                || format!("work of layers 0 to {i} (multiply-adds, window entries, outputs)"),
                work,
                0,
                Self::MAX_WORK,
            )?;
        }
        for (i, w) in self.layers.windows(2).enumerate() {
            if w[0].output_len() != w[1].input_len() {
                return Err(EnvelopeError::Mismatch {
                    field: format!("input length of layer {}", i + 1),
                    expected: w[0].output_len() as i128,
                    found: w[1].input_len() as i128,
                    reason: "the output length of the layer before",
                });
            }
        }
        let frac = |q: QFormat| i64::from(q.frac_bits());
        for (i, l) in self.layers.iter().enumerate() {
            let input = frac(self.input_format(i));
            match l {
                QLayer::Dense { .. } | QLayer::Conv2d { .. } => {
                    shift(
                        || format!("rescale shift of layer {i}"),
                        input + frac(self.weight) - frac(self.activation),
                    )?;
                }
                QLayer::AvgPool2d { kernel, .. } => {
                    let log = i64::from((kernel * kernel).trailing_zeros());
                    shift(
                        || format!("rescale shift of layer {i} (average pool)"),
                        log + input - frac(self.activation),
                    )?;
                }
                QLayer::MaxPool2d { .. } => {
                    let from = self.input_format(i);
                    if from.frac_bits() != self.activation.frac_bits()
                        || from.bits() > self.activation.bits()
                    {
                        return Err(EnvelopeError::Unsupported {
                            field: format!("layer {i} (max pool)"),
                            reason: "max pooling keeps its input's scale: its input must be in the activation format",
                        });
                    }
                }
                QLayer::Argmax { .. } => {}
            }
        }
        Ok(work)
    }

    /// The expected shapes of the weights.
    pub fn weight_shapes(&self) -> Vec<(usize, usize)> {
        self.layers
            .iter()
            .filter_map(QLayer::weight_shape)
            .collect()
    }

    /// Multiply-adds of one forward pass.
    pub fn macs(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weight_shape().map_or(0, |(r, c)| r * c * l.positions()))
            .sum()
    }

    /// Number of weights.
    pub fn n_params(&self) -> usize {
        self.weight_shapes().iter().map(|(r, c)| r * c).sum()
    }

    /// The fixed-point format of layer `l`'s input.
    pub fn input_format(&self, l: usize) -> QFormat {
        if l == 0 {
            self.input
        } else {
            self.activation
        }
    }

    /// Rescale shift of parametrized layer `l`: its input scale plus the
    /// weights' minus the activation scale.
    pub fn shift(&self, l: usize) -> u32 {
        (self.input_format(l).frac_bits() + self.weight.frac_bits())
            .saturating_sub(self.activation.frac_bits())
    }

    /// Rescale shift of an average pool over `k x k` at layer `l`.
    pub fn pool_shift(&self, l: usize, kernel: usize) -> u32 {
        (kernel * kernel).trailing_zeros() + self.input_format(l).frac_bits()
            - self.activation.frac_bits()
    }

    /// The fixed-point one of layer `l`'s input scale: a bias's input.
    pub fn bias_input(&self, l: usize) -> i64 {
        1i64 << self.input_format(l).frac_bits()
    }

    /// The native forward pass: each layer's output, the last being the logits.
    pub fn forward(&self, weights: &QWeights, input: &[i64]) -> Result<Vec<Vec<i64>>, FixedError> {
        if input.len() != self.input_len() {
            return Err(FixedError::ShapeMismatch {
                op: "model input",
                expected: vec![self.input_len()],
                found: vec![input.len()],
            });
        }
        let shapes = self.weight_shapes();
        if weights.len() != shapes.len()
            || weights
                .iter()
                .zip(&shapes)
                .any(|(w, (r, c))| w.len() != r * c)
        {
            return Err(FixedError::ShapeMismatch {
                op: "model weights",
                expected: shapes.iter().map(|(r, c)| r * c).collect(),
                found: weights.iter().map(Vec::len).collect(),
            });
        }
        let mut x = input.to_vec();
        let mut outs = Vec::with_capacity(self.layers.len());
        let mut next_w = 0;
        for l in 0..self.layers.len() {
            let w: &[i64] = if self.layers[l].weight_shape().is_some() {
                next_w += 1;
                &weights[next_w - 1]
            } else {
                &[]
            };
            x = self.forward_layer(l, w, &x)?.out;
            outs.push(x.clone());
        }
        Ok(outs)
    }

    /// Layer `l` of the forward pass on its input `x`, with its weights `w`
    /// (empty for a layer without): its output and, before the activation,
    /// its pre-activation. The one native implementation of every layer,
    /// which inference, evaluation and training share.
    pub fn forward_layer(&self, l: usize, w: &[i64], x: &[i64]) -> Result<LayerOut, FixedError> {
        let layer = self.layers.get(l).ok_or(FixedError::ShapeMismatch {
            op: "layer index",
            expected: vec![self.layers.len()],
            found: vec![l],
        })?;
        if x.len() != layer.input_len() || w.len() != layer.weight_shape().map_or(0, |(r, c)| r * c)
        {
            return Err(FixedError::ShapeMismatch {
                op: "layer input and weights",
                expected: vec![
                    layer.input_len(),
                    layer.weight_shape().map_or(0, |(r, c)| r * c),
                ],
                found: vec![x.len(), w.len()],
            });
        }
        let fields = layer.receptive_fields();
        let one = self.bias_input(l) as i128;
        let pre: Vec<i64> = match layer {
            QLayer::AvgPool2d { kernel, .. } => {
                let shift = self.pool_shift(l, *kernel);
                fields
                    .iter()
                    .map(|f| {
                        let s: i128 = f.iter().flatten().map(|i| x[*i] as i128).sum();
                        self.activation.check(rescale(s, shift), "average pool")
                    })
                    .collect::<Result<_, _>>()?
            }
            QLayer::Argmax { .. } => vec![argmax(x)],
            QLayer::MaxPool2d { .. } => fields
                .iter()
                .map(|f| f.iter().flatten().map(|i| x[*i]).max().unwrap_or(0))
                .collect(),
            _ => {
                let (rows, cols) = layer.weight_shape().unwrap_or((0, 1));
                let positions = fields.len();
                let mut y = vec![0i64; rows * positions];
                for (p, f) in fields.iter().enumerate() {
                    for o in 0..rows {
                        let row = &w[o * cols..(o + 1) * cols];
                        let mut acc: i128 = row[cols - 1] as i128 * one;
                        for (k, i) in f.iter().enumerate() {
                            if let Some(i) = i {
                                acc += x[*i] as i128 * row[k] as i128;
                            }
                        }
                        // Dense: o; convolution: channel-major (o, position).
                        y[o * positions + p] = self
                            .activation
                            .check(rescale(acc, self.shift(l)), "layer output")?;
                    }
                }
                y
            }
        };
        let out = match layer.activation() {
            Some(a) => pre.iter().map(|q| a.apply(*q, self.activation)).collect(),
            None => pre.clone(),
        };
        Ok(LayerOut { pre, out })
    }
}

/// One layer's result in the native forward pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerOut {
    /// The values before the layer's activation (its output if it has none).
    pub pre: Vec<i64>,
    /// The layer's output.
    pub out: Vec<i64>,
}

/// The index of the first largest value (0 for an empty slice): ONNX's
/// `ArgMax` with `select_last_index = 0`.
pub fn argmax(values: &[i64]) -> i64 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as i64
}

impl QModel {
    /// Whether the model ends in an argmax (its output is a class index, not
    /// fixed-point values).
    pub fn ends_in_argmax(&self) -> bool {
        matches!(self.layers.last(), Some(QLayer::Argmax { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(frac: u32, bits: u32) -> QFormat {
        QFormat::new(frac, bits).unwrap()
    }

    #[test]
    fn max_pool_takes_each_windows_largest_value() {
        let m = QModel {
            input: f(4, 12),
            activation: f(4, 12),
            weight: f(4, 8),
            layers: vec![QLayer::MaxPool2d {
                channels: 2,
                height: 2,
                width: 3,
                kernel: 2,
                stride: 1,
            }],
        };
        m.validate().unwrap();
        let out = m
            .forward(&vec![], &[1, -5, 3, 2, 0, -1, -7, -3, -2, -4, -8, -9])
            .unwrap();
        assert_eq!(out[0], vec![2, 3, -3, -2]);
        // Another scale at the input is refused.
        let mut wrong = m.clone();
        wrong.input = f(6, 12);
        assert!(wrong.validate().is_err());
    }

    #[test]
    fn argmax_picks_the_first_largest_and_only_last() {
        assert_eq!(argmax(&[3, -1, 7, 7, 2]), 2);
        assert_eq!(argmax(&[-4]), 0);
        let mut m = QModel {
            input: f(4, 12),
            activation: f(4, 12),
            weight: f(4, 8),
            layers: vec![
                QLayer::Dense {
                    inputs: 2,
                    outputs: 3,
                    activation: None,
                },
                QLayer::Argmax { inputs: 3 },
            ],
        };
        m.validate().unwrap();
        assert!(m.ends_in_argmax());
        let w = vec![vec![16, 0, 0, 0, 16, 0, -16, 0, 0]];
        assert_eq!(m.forward(&w, &[32, 48]).unwrap()[1], vec![1]);
        m.layers.push(QLayer::Dense {
            inputs: 1,
            outputs: 1,
            activation: None,
        });
        assert!(m.validate().is_err());
    }

    #[test]
    fn zero_strides_and_oversized_windows_are_errors_not_panics() {
        let conv = |stride, kernel| QLayer::Conv2d {
            in_channels: 1,
            out_channels: 1,
            height: 4,
            width: 4,
            kernel: [kernel, kernel],
            stride,
            padding: 0,
            activation: None,
        };
        let pool = |stride, kernel| QLayer::AvgPool2d {
            channels: 1,
            height: 4,
            width: 4,
            kernel,
            stride,
        };
        for first in [conv(0, 3), conv(1, 7), pool(0, 2), pool(1, 8)] {
            let m = QModel {
                input: f(4, 8),
                activation: f(4, 12),
                weight: f(4, 8),
                layers: vec![
                    first,
                    QLayer::Dense {
                        inputs: 4,
                        outputs: 2,
                        activation: None,
                    },
                ],
            };
            assert!(m.validate().is_err(), "{:?}", m.layers[0]);
        }
    }

    #[test]
    fn conv_fields_and_shapes() {
        let c = QLayer::Conv2d {
            in_channels: 1,
            out_channels: 2,
            height: 3,
            width: 3,
            kernel: [3, 3],
            stride: 1,
            padding: 1,
            activation: None,
        };
        assert_eq!(c.out_hw(), (3, 3));
        assert_eq!(c.output_len(), 18);
        let fields = c.receptive_fields();
        // The top-left output sees padding on its first row and column.
        assert_eq!(fields[0][..4], [None, None, None, None]);
        assert_eq!(fields[0][4], Some(0));
        assert_eq!(fields[4], (0..9).map(Some).collect::<Vec<_>>());
    }

    #[test]
    fn forward_dense_and_pool() {
        let m = QModel {
            input: f(4, 12),
            activation: f(4, 12),
            weight: f(4, 8),
            layers: vec![
                QLayer::Dense {
                    inputs: 2,
                    outputs: 4,
                    activation: Some(Activation::Relu),
                },
                QLayer::AvgPool2d {
                    channels: 1,
                    height: 2,
                    width: 2,
                    kernel: 2,
                    stride: 2,
                },
            ],
        };
        m.validate().unwrap();
        // W rows: [1, 0 | 0], [0, 1 | 0], [-1, 0 | 0], [1, 1 | 1] (at 2^4).
        let w = vec![vec![16, 0, 0, 0, 16, 0, -16, 0, 0, 16, 16, 16]];
        let out = m.forward(&w, &[32, 16]).unwrap();
        assert_eq!(out[0], vec![32, 16, 0, 64]);
        assert_eq!(out[1], vec![28]);
    }
}
