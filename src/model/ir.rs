//! The float model IR: a chain of layers with shapes and float weights, with
//! its own JSON form. ONNX imports into it; quantization turns it into the
//! fixed-point [`QModel`](zkpot_circuits::infer::QModel) the circuits prove.

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The most parameters or input values a model may have.
pub const MAX_ELEMENTS: usize = 1 << 24;

/// One layer of a float model. Tensors are flat and channel-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Layer {
    /// `y = W x + b`, `W` row-major `outputs x inputs`.
    Dense {
        /// Input length.
        inputs: usize,
        /// Output length.
        outputs: usize,
        /// Weights.
        weight: Vec<f32>,
        /// Bias.
        bias: Vec<f32>,
    },
    /// 2-D convolution, `W` as `out x in x kh x kw`.
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
        /// Stride.
        stride: usize,
        /// Zero padding.
        padding: usize,
        /// Weights.
        weight: Vec<f32>,
        /// Bias.
        bias: Vec<f32>,
    },
    /// `max(x, 0)`.
    Relu,
    /// The logistic function.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` for `x >= 0`, else `alpha x`.
    LeakyRelu {
        /// The slope below zero, in `[0, 1]` (proven as the nearest
        /// multiple of 2^-16).
        alpha: f32,
    },
    /// Average pooling.
    AvgPool2d {
        /// Channels.
        channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// The index of the largest value (the first on ties); only last.
    Argmax,
    /// Max pooling.
    MaxPool2d {
        /// Channels.
        channels: usize,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
        /// Window.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
}

/// A per-feature affine map applied to raw inputs before quantization:
/// `y[i] = x[i] * scale[i] + shift[i]` (an exported model's leading
/// normalization: scikit-learn's `Scaler`, or constant `Sub`/`Div`/`Mul`/`Add`).
/// It is public input preprocessing, computed natively and named in the
/// statement, so the weights stay the model's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Multipliers, one per input value.
    pub scale: Vec<f64>,
    /// Offsets added after scaling, one per input value.
    pub shift: Vec<f64>,
}

impl Preprocess {
    /// Applies the map to one raw input (of the checked length).
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(self.scale.iter().zip(&self.shift))
            .map(|(v, (s, t))| v * s + t)
            .collect()
    }

    /// Checks lengths and finiteness.
    pub fn validate(&self, input_len: usize) -> Result<(), ModelError> {
        if self.scale.len() != input_len || self.shift.len() != input_len {
            return Err(ModelError::Shape(format!(
                "the input preprocessing has {} scales and {} shifts for {input_len} inputs",
                self.scale.len(),
                self.shift.len()
            )));
        }
        if self.scale.iter().chain(&self.shift).any(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                what: "the input preprocessing".into(),
            });
        }
        Ok(())
    }
}

/// A float model: the input length and a chain of layers, with the input
/// preprocessing, class labels and import notes an exported file may bring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Input length (flattened).
    pub input_len: usize,
    /// Layers in order.
    pub layers: Vec<Layer>,
    /// Applied to raw inputs before quantization, when the model has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocess: Option<Preprocess>,
    /// The label of each class index, when the model ends in an argmax
    /// whose index an exporter maps to labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// What the import rewrote or left out (folded layers, a softmax head
    /// proven as its argmax, outputs not proven), for the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn conv_out(n: usize, k: usize, s: usize, p: usize) -> usize {
    (n + 2 * p).saturating_sub(k) / s.max(1) + 1
}

/// Pools `a` (`channels x height x width`) over `kernel x kernel` windows
/// with `reduce`.
fn pool(
    a: &[f64],
    [channels, height, width]: [usize; 3],
    kernel: usize,
    stride: usize,
    reduce: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let (oh, ow) = (
        conv_out(height, kernel, stride, 0),
        conv_out(width, kernel, stride, 0),
    );
    let mut y = Vec::with_capacity(channels * oh * ow);
    let mut window = Vec::with_capacity(kernel * kernel);
    for c in 0..channels {
        for oy in 0..oh {
            for ox in 0..ow {
                window.clear();
                for ky in 0..kernel {
                    for kx in 0..kernel {
                        window.push(
                            a[c * height * width + (oy * stride + ky) * width + ox * stride + kx],
                        );
                    }
                }
                y.push(reduce(&window));
            }
        }
    }
    y
}

impl Layer {
    /// Output length given the input length (checked).
    pub fn output_len(&self, input: usize) -> Result<usize, ModelError> {
        let expect = |n: usize| {
            if n == input {
                Ok(())
            } else {
                Err(ModelError::Shape(format!(
                    "a layer expects {n} inputs, gets {input}"
                )))
            }
        };
        match self {
            Layer::Dense {
                inputs,
                outputs,
                weight,
                bias,
            } => {
                expect(*inputs)?;
                if weight.len() != inputs * outputs || bias.len() != *outputs {
                    return Err(ModelError::Shape(format!(
                        "dense {inputs}->{outputs}: {} weights and {} biases",
                        weight.len(),
                        bias.len()
                    )));
                }
                Ok(*outputs)
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
                expect(in_channels * height * width)?;
                if weight.len() != out_channels * in_channels * kernel[0] * kernel[1]
                    || bias.len() != *out_channels
                {
                    return Err(ModelError::Shape(
                        "convolution weights do not match their shape".into(),
                    ));
                }
                if *stride == 0
                    || kernel[0] > height + 2 * padding
                    || kernel[1] > width + 2 * padding
                {
                    return Err(ModelError::Shape(
                        "convolution kernel larger than its input".into(),
                    ));
                }
                Ok(out_channels
                    * conv_out(*height, kernel[0], *stride, *padding)
                    * conv_out(*width, kernel[1], *stride, *padding))
            }
            Layer::Relu | Layer::Sigmoid | Layer::Tanh | Layer::Relu6 | Layer::LeakyRelu { .. } => {
                Ok(input)
            }
            Layer::Argmax => Ok(1),
            Layer::AvgPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            }
            | Layer::MaxPool2d {
                channels,
                height,
                width,
                kernel,
                stride,
            } => {
                expect(channels * height * width)?;
                if *stride == 0 || *kernel == 0 || kernel > height || kernel > width {
                    return Err(ModelError::Shape(
                        "pooling window larger than its input".into(),
                    ));
                }
                Ok(channels
                    * conv_out(*height, *kernel, *stride, 0)
                    * conv_out(*width, *kernel, *stride, 0))
            }
        }
    }
}

impl Model {
    /// Checks shapes chain, sizes are bounded and weights are finite; returns
    /// the output length.
    pub fn validate(&self) -> Result<usize, ModelError> {
        if self.input_len == 0 || self.input_len > MAX_ELEMENTS {
            return Err(ModelError::TooLarge {
                what: "input length",
                size: self.input_len,
                limit: MAX_ELEMENTS,
            });
        }
        if let Some(p) = &self.preprocess {
            p.validate(self.input_len)?;
        }
        let mut n = self.input_len;
        let mut params = 0usize;
        let mut classes = None;
        for (i, l) in self.layers.iter().enumerate() {
            if matches!(l, Layer::Argmax) {
                classes = Some(n);
            }
            if matches!(l, Layer::Argmax) && (i == 0 || i + 1 != self.layers.len()) {
                return Err(ModelError::Shape(
                    "argmax must be the last layer, after another one".into(),
                ));
            }
            if let Layer::LeakyRelu { alpha } = l {
                if !(0.0..=1.0).contains(alpha) {
                    return Err(ModelError::Shape(format!(
                        "a leaky ReLU slope of {alpha}: only slopes in [0, 1] are supported"
                    )));
                }
            }
            if let Layer::Dense { weight, bias, .. } | Layer::Conv2d { weight, bias, .. } = l {
                params = params.saturating_add(weight.len() + bias.len());
                if weight.iter().chain(bias).any(|v| !v.is_finite()) {
                    return Err(ModelError::NotFinite {
                        what: "a weight tensor".into(),
                    });
                }
            }
            n = l.output_len(n)?;
            if n == 0 || n > MAX_ELEMENTS {
                return Err(ModelError::TooLarge {
                    what: "layer output",
                    size: n,
                    limit: MAX_ELEMENTS,
                });
            }
        }
        if params > MAX_ELEMENTS {
            return Err(ModelError::TooLarge {
                what: "parameter count",
                size: params,
                limit: MAX_ELEMENTS,
            });
        }
        if let Some(labels) = &self.labels {
            if classes != Some(labels.len()) {
                return Err(ModelError::Shape(format!(
                    "{} class labels for a model whose output is {}",
                    labels.len(),
                    match classes {
                        Some(c) => format!("an argmax over {c} classes"),
                        None => "not a class index (no argmax)".into(),
                    }
                )));
            }
        }
        Ok(n)
    }

    /// A raw input as the first layer takes it: the preprocessing applied
    /// when the model has one.
    pub fn prepare(&self, x: &[f64]) -> Vec<f64> {
        match &self.preprocess {
            Some(p) => p.apply(x),
            None => x.to_vec(),
        }
    }

    /// The float forward pass (f64) of a prepared input, every layer's output.
    pub fn forward(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let mut a = x.to_vec();
        let mut outs = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            a = match l {
                Layer::Dense {
                    inputs,
                    outputs,
                    weight,
                    bias,
                } => (0..*outputs)
                    .map(|o| {
                        bias[o] as f64
                            + (0..*inputs)
                                .map(|i| weight[o * inputs + i] as f64 * a[i])
                                .sum::<f64>()
                    })
                    .collect(),
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
                    let (oh, ow) = (
                        conv_out(*height, kernel[0], *stride, *padding),
                        conv_out(*width, kernel[1], *stride, *padding),
                    );
                    let mut y = vec![0.0; out_channels * oh * ow];
                    for oc in 0..*out_channels {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let mut s = bias[oc] as f64;
                                for ic in 0..*in_channels {
                                    for ky in 0..kernel[0] {
                                        for kx in 0..kernel[1] {
                                            let yy =
                                                (oy * stride + ky) as isize - *padding as isize;
                                            let xx =
                                                (ox * stride + kx) as isize - *padding as isize;
                                            if yy >= 0
                                                && xx >= 0
                                                && (yy as usize) < *height
                                                && (xx as usize) < *width
                                            {
                                                let w = weight[((oc * in_channels + ic)
                                                    * kernel[0]
                                                    + ky)
                                                    * kernel[1]
                                                    + kx];
                                                s += w as f64
                                                    * a[ic * height * width
                                                        + yy as usize * width
                                                        + xx as usize];
                                            }
                                        }
                                    }
                                }
                                y[(oc * oh + oy) * ow + ox] = s;
                            }
                        }
                    }
                    y
                }
                Layer::Relu => a.iter().map(|v| v.max(0.0)).collect(),
                Layer::Tanh => a.iter().map(|v| v.tanh()).collect(),
                Layer::Relu6 => a.iter().map(|v| v.clamp(0.0, 6.0)).collect(),
                Layer::LeakyRelu { alpha } => a
                    .iter()
                    .map(|v| if *v >= 0.0 { *v } else { *v * *alpha as f64 })
                    .collect(),
                Layer::Argmax => vec![super::quantize::argmax(&a) as f64],
                Layer::Sigmoid => a.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
                Layer::AvgPool2d {
                    channels,
                    height,
                    width,
                    kernel,
                    stride,
                } => pool(&a, [*channels, *height, *width], *kernel, *stride, |w| {
                    w.iter().sum::<f64>() / w.len() as f64
                }),
                Layer::MaxPool2d {
                    channels,
                    height,
                    width,
                    kernel,
                    stride,
                } => pool(&a, [*channels, *height, *width], *kernel, *stride, |w| {
                    w.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                }),
            };
            outs.push(a.clone());
        }
        outs
    }

    /// Reads a model from its JSON form.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let m: Model = serde_json::from_str(text).map_err(|e| ModelError::Json(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }
}
