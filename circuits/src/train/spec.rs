//! What a training run is: architecture, loss, learning rate, batch size and
//! fixed-point formats. The spec is public; with the dataset commitment it
//! determines the step circuit and its verifying key.

use serde::{Deserialize, Serialize};

use super::arch::{Arch, ConvLayers};
use crate::envelope::{bound, shift, EnvelopeError};
use crate::fixed::{Activation, QFormat};
use crate::infer::{QLayer, QModel};

/// The loss being minimized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Mean squared error against one-hot targets.
    Mse,
    /// Softmax cross-entropy: probabilities through the exp table and a
    /// range-checked division, gradient `p - onehot`.
    #[serde(rename = "cross_entropy")]
    CrossEntropy,
}

/// Fractional bits of softmax probabilities.
pub const PROB_FRAC: u32 = 8;
/// Fractional bits of the exp table's input.
pub const EXP_FRAC: u32 = 6;
/// Bits of the exp table's domain: logits more than `(2^EXP_BITS - 1) /
/// 2^EXP_FRAC` (about 8) below the largest give probability 0.
pub const EXP_BITS: u32 = 9;

/// Fixed-point formats of a training run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainFormats {
    /// Input features (the dataset's format).
    pub input: QFormat,
    /// Weights and biases.
    pub weight: QFormat,
    /// Hidden activations and logits.
    pub activation: QFormat,
    /// Learning-rate-scaled gradients (deltas).
    pub delta: QFormat,
}

impl TrainFormats {
    /// The default formats for a dataset with `input` features: weights Q12/16b
    /// (range +-8, step 1/4096), activations Q8/16b, deltas Q14/16b.
    pub fn for_input(input: QFormat) -> Self {
        Self {
            input,
            weight: QFormat::constant(12, 16),
            activation: QFormat::constant(8, 16),
            delta: QFormat::constant(14, 16),
        }
    }
}

/// A model trained with SGD: optional convolutional layers (a CNN), then
/// Dense + ReLU layers, the last one without activation. `widths = [inputs,
/// hidden..., classes]`, the inputs being the features of an MLP or the
/// length of a CNN's convolutional output; `[n, c]` is softmax (or linear)
/// regression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainSpec {
    /// The dense layers' widths, their input first, classes last.
    pub widths: Vec<usize>,
    /// A CNN's convolutional and pooling layers, before the dense ones
    /// (absent for an MLP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<ConvLayers>,
    /// The loss.
    pub loss: Loss,
    /// Learning rate numerator: the rate is `lr_num / 2^lr_shift`.
    pub lr_num: u32,
    /// Learning rate shift.
    pub lr_shift: u32,
    /// Batch size, a power of two.
    pub batch: usize,
    /// Fixed-point formats.
    pub formats: TrainFormats,
}

impl TrainSpec {
    /// The learning rate as a real number.
    pub fn lr(&self) -> f64 {
        self.lr_num as f64 / (self.lr_shift as f64).exp2()
    }

    /// log2 of the batch size.
    pub fn batch_log2(&self) -> u32 {
        self.batch.trailing_zeros()
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        Arch {
            conv: self.conv.clone(),
            widths: self.widths.clone(),
        }
    }

    /// The layers of the model, convolutional ones first: every dense
    /// layer but the last with ReLU. Shapes are those of a validated spec
    /// (for one that fails [`validate`](Self::validate), the convolutional
    /// layers are left out).
    pub fn layer_list(&self) -> Vec<QLayer> {
        let mut layers = match &self.conv {
            Some(c) => c.qlayers().unwrap_or_default(),
            None => Vec::new(),
        };
        let n = self.widths.len();
        layers.extend(
            self.widths
                .windows(2)
                .enumerate()
                .map(|(l, w)| QLayer::Dense {
                    inputs: w[0],
                    outputs: w[1],
                    activation: (l + 2 < n).then_some(Activation::Relu),
                }),
        );
        layers
    }

    /// The model as a quantized model (its forward pass, formats and
    /// shapes), as inference and evaluation prove it.
    pub fn model(&self) -> QModel {
        QModel {
            input: self.formats.input,
            activation: self.formats.activation,
            weight: self.formats.weight,
            layers: self.layer_list(),
        }
    }

    /// The input length (features of a dataset row).
    pub fn input_len(&self) -> usize {
        self.conv
            .as_ref()
            .map_or(self.widths.first().copied().unwrap_or(0), |c| c.input_len())
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.widths.last().copied().unwrap_or(0)
    }

    /// Number of parameters (weights and biases).
    pub fn n_params(&self) -> usize {
        self.model()
            .weight_shapes()
            .iter()
            .map(|(r, c)| r * c)
            .sum()
    }

    /// The fractional bits of layer `l`'s input.
    fn input_frac(&self, l: usize) -> u32 {
        let f = &self.formats;
        if l == 0 {
            f.input.frac_bits()
        } else {
            f.activation.frac_bits()
        }
    }

    /// Rescale shift of layer `l`'s forward accumulator (a convolution's or
    /// dense layer's; an average pool's is its window's log2 on top of the
    /// scales).
    pub fn forward_shift(&self, l: usize) -> u32 {
        let f = &self.formats;
        let window = match self.layer_list().get(l) {
            Some(QLayer::AvgPool2d { kernel, .. }) => (kernel * kernel).trailing_zeros(),
            _ => f.weight.frac_bits(),
        };
        self.input_frac(l) + window - f.activation.frac_bits()
    }

    /// Rescale shift of the output delta: `lr * 2/B * (y - z)` for MSE,
    /// `lr / B * (y - p)` for cross-entropy.
    pub fn output_delta_shift(&self) -> u32 {
        let f = &self.formats;
        match self.loss {
            Loss::Mse => {
                f.activation.frac_bits() + self.lr_shift + self.batch_log2()
                    - 1
                    - f.delta.frac_bits()
            }
            Loss::CrossEntropy => {
                PROB_FRAC + self.lr_shift + self.batch_log2() - f.delta.frac_bits()
            }
        }
    }

    /// Rescale shift taking logits to the exp table's input scale.
    pub fn exp_shift(&self) -> u32 {
        self.formats.activation.frac_bits() - EXP_FRAC
    }

    /// Rescale shift of a hidden delta `sum_o delta_o W_oj`.
    pub fn hidden_delta_shift(&self) -> u32 {
        self.formats.weight.frac_bits()
    }

    /// Rescale shift of the delta that layer `l` passes back to its input:
    /// a convolution's or dense layer's `sum delta W`
    /// ([`hidden_delta_shift`](Self::hidden_delta_shift)), an average
    /// pool's delta spread over its window (divided by its size), a max
    /// pool's delta routed to its window's maximum (shift 0).
    pub fn backward_shift(&self, l: usize) -> u32 {
        match self.layer_list().get(l) {
            Some(QLayer::AvgPool2d { kernel, .. }) => (kernel * kernel).trailing_zeros(),
            Some(QLayer::MaxPool2d { .. }) => 0,
            _ => self.hidden_delta_shift(),
        }
    }

    /// Rescale shift of layer `l`'s weight update.
    pub fn update_shift(&self, l: usize) -> u32 {
        let f = &self.formats;
        f.delta.frac_bits() + self.input_frac(l) - f.weight.frac_bits()
    }

    /// The fixed-point one (`2^f`) of layer `l`'s input, the bias's input.
    pub fn bias_input(&self, l: usize) -> i64 {
        1i64 << self.input_frac(l)
    }

    /// The most classes a training run may have (one-hot lookups tag the
    /// class in a byte).
    pub const MAX_CLASSES: usize = 255;

    /// The widest and most fractional formats training supports.
    pub const MAX_FORMAT_BITS: u32 = 24;

    /// The most fractional bits of a training format.
    pub const MAX_FORMAT_FRAC: u32 = 32;

    /// Every rescale shift the step implies, signed (a negative shift means
    /// scales that do not line up), with its name.
    fn signed_shifts(&self) -> Vec<(String, i64)> {
        let f = &self.formats;
        let frac = |q: QFormat| i64::from(q.frac_bits());
        let lr = i64::from(self.lr_shift) + i64::from(self.batch_log2());
        let mut out = Vec::new();
        for (l, layer) in self.layer_list().iter().enumerate() {
            let input = frac(if l == 0 { f.input } else { f.activation });
            match layer {
                QLayer::AvgPool2d { kernel, .. } => out.push((
                    format!("forward shift of layer {l} (average pool)"),
                    i64::from((kernel * kernel).trailing_zeros()) + input - frac(f.activation),
                )),
                // Max pooling keeps its input's scale (checked by the model).
                QLayer::MaxPool2d { .. } => {}
                _ => {
                    out.push((
                        format!("forward shift of layer {l}"),
                        input + frac(f.weight) - frac(f.activation),
                    ));
                    out.push((
                        format!("update shift of layer {l}"),
                        frac(f.delta) + input - frac(f.weight),
                    ));
                }
            }
        }
        out.push((
            "output delta shift".into(),
            match self.loss {
                Loss::Mse => frac(f.activation) + lr - 1 - frac(f.delta),
                Loss::CrossEntropy => i64::from(PROB_FRAC) + lr - frac(f.delta),
            },
        ));
        out.push(("hidden delta shift".into(), frac(f.weight)));
        if self.loss == Loss::CrossEntropy {
            out.push((
                "softmax exponent shift".into(),
                frac(f.activation) - i64::from(EXP_FRAC),
            ));
        }
        out
    }

    /// Checks the spec against the supported envelope
    /// ([`envelope`](crate::envelope)): at least one layer, widths, classes,
    /// parameters, batch and learning rate bounded, training formats of at
    /// most 24 value bits and 32 fractional bits, and every rescale shift
    /// between 0 and 62. The error names the field and its bound.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        bound(
            || "number of layer widths".into(),
            self.widths.len() as u64,
            2,
            17,
        )?;
        for (i, w) in self.widths.iter().enumerate() {
            bound(|| format!("width {i}"), *w as u64, 1, 4096)?;
        }
        if let Some(conv) = &self.conv {
            bound(
                || "convolutional and pooling layers".into(),
                conv.layers.len() as u64,
                1,
                16,
            )?;
            let out = conv.output_len().map_err(|e| EnvelopeError::Unsupported {
                field: format!("convolutional layers: {e}"),
                reason: "the shapes must fit",
            })?;
            if out != self.widths[0] {
                return Err(EnvelopeError::Mismatch {
                    field: "width 0 (the dense layers' input)".into(),
                    expected: out as i128,
                    found: self.widths[0] as i128,
                    reason: "the convolutional layers' output length",
                });
            }
            // Shapes, sizes and work per pass, as inference bounds them.
            self.model().validate()?;
        }
        let classes = self.widths[self.widths.len() - 1];
        bound(
            || "classes".into(),
            classes as u64,
            1,
            Self::MAX_CLASSES as u64,
        )?;
        bound(|| "parameters".into(), self.n_params() as u64, 1, 1 << 22)?;
        bound(|| "batch".into(), self.batch as u64, 1, 1024)?;
        if !self.batch.is_power_of_two() {
            return Err(EnvelopeError::Unsupported {
                field: format!("batch {}", self.batch),
                reason: "the batch size must be a power of two",
            });
        }
        bound(|| "lr_num".into(), self.lr_num, 1, 1 << 16)?;
        bound(|| "lr_shift".into(), self.lr_shift, 0, 30)?;
        let f = &self.formats;
        for (name, q) in [
            ("input", f.input),
            ("weight", f.weight),
            ("activation", f.activation),
            ("delta", f.delta),
        ] {
            bound(
                || format!("value bits of the {name} format"),
                q.bits(),
                1,
                Self::MAX_FORMAT_BITS,
            )?;
            bound(
                || format!("fractional bits of the {name} format"),
                q.frac_bits(),
                0,
                Self::MAX_FORMAT_FRAC,
            )?;
        }
        for (name, s) in self.signed_shifts() {
            shift(|| name, s)?;
        }
        // ReLU's sign bit is the top limb of a value wider than one limb.
        let relu = self.layer_list().iter().any(|l| l.activation().is_some());
        if relu && f.activation.bits() <= super::circuit::TRAIN_LIMB_BITS {
            return Err(EnvelopeError::Unsupported {
                field: format!(
                    "value bits of the activation format ({})",
                    f.activation.bits()
                ),
                reason: "ReLU needs activations wider than the 8-bit limb its sign is read from",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec read from a run file: formats with 200 fractional bits give an
    /// update shift of 399 bits, whose remainder covers every field element.
    #[test]
    fn specs_with_out_of_envelope_formats_are_refused() {
        let json = r#"{"widths":[4,8,3],"loss":"mse","lr_num":32,"lr_shift":8,"batch":16,
            "formats":{"input":{"frac_bits":200,"bits":8},"weight":{"frac_bits":12,"bits":16},
            "activation":{"frac_bits":200,"bits":16},"delta":{"frac_bits":211,"bits":16}}}"#;
        let refused = serde_json::from_str::<TrainSpec>(json)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map_err(|e| e.to_string()));
        assert!(refused.is_err(), "a 399-bit update shift was accepted");
    }

    /// ReLU reads its sign bit from the top limb of a value wider than one
    /// limb: 8-bit activations with a hidden layer are refused by name, not
    /// left to fail when the circuit is laid out.
    #[test]
    fn relu_on_activations_of_one_limb_is_refused() {
        let json = r#"{"widths":[4,8,3],"loss":"mse","lr_num":32,"lr_shift":8,"batch":16,
            "formats":{"input":{"frac_bits":4,"bits":8},"weight":{"frac_bits":6,"bits":8},
            "activation":{"frac_bits":4,"bits":8},"delta":{"frac_bits":6,"bits":8}}}"#;
        let spec: TrainSpec = serde_json::from_str(json).unwrap();
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("ReLU"), "{err}");
        // Softmax regression has no ReLU.
        let linear = TrainSpec {
            widths: vec![4, 3],
            ..spec
        };
        assert!(linear.validate().is_ok());
    }
}
