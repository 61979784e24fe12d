//! The architecture of a trained model: optional convolutional layers on a
//! `channels x height x width` input, then dense layers with ReLU between.
//!
//! It is written as a shorthand, `mlp:64-32-10` (layer widths) or
//! `cnn:1x8x8-c4k3p1-relu-avg2-d10` (the input's channels, height and width,
//! then layers: `c<channels>k<kernel>[p<padding>][s<stride>]` a convolution,
//! `relu`, `avg<n>` / `max<n>` pooling over `n x n` windows with stride `n`,
//! `d<units>` a dense layer), or as the same layers listed in JSON
//! ([`ArchLayers`]). Both give one [`Arch`]: the convolutional part
//! ([`ConvLayers`]) and the dense layers' widths, the first of which is the
//! length of what the convolutional part outputs.
//!
//! Shapes are checked here, before anything is trained: a kernel larger than
//! its padded input, a stride that does not divide it, a stride larger than
//! the kernel (inputs no window covers), padding as wide as the kernel, a
//! pooling window that does not divide its input, ReLU anywhere but after a
//! convolution or a hidden dense layer. Each is an [`ArchError`] naming the
//! layer.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::infer::QLayer;

/// An architecture that cannot be trained.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ArchError {
    /// The shorthand does not parse.
    #[error("model {text:?}: {reason} (e.g. mlp:64-32-10 or cnn:1x8x8-c4k3p1-relu-avg2-d10)")]
    Syntax {
        /// The shorthand given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer whose shape does not fit its input or its neighbours.
    #[error("layer {index} ({layer}): {reason}")]
    Shape {
        /// The layer's position in the list (0-based).
        index: usize,
        /// The layer, in the shorthand.
        layer: String,
        /// Why it does not fit.
        reason: String,
    },
}

/// The largest channel count, spatial size, kernel and pooling window the
/// convolutional layers take.
pub const MAX_CONV_DIM: usize = 256;

/// The largest pooling window side.
pub const MAX_POOL: usize = 8;

/// The widest dense layer.
pub const MAX_WIDTH: usize = 4096;

/// The most layers an architecture lists (ReLU included): 16 convolutional
/// and pooling layers with a ReLU each, and 16 dense layers with ReLU
/// between.
pub const MAX_LAYERS: usize = 64;

/// One layer of an architecture as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerToken {
    /// A 2-D convolution to `channels` channels with a square kernel.
    Conv {
        /// Output channels.
        channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Zero padding on every side.
        #[serde(default)]
        padding: usize,
        /// Stride (both axes).
        #[serde(default = "one")]
        stride: usize,
    },
    /// ReLU on the layer before.
    Relu,
    /// Average pooling over `size x size` windows, stride `size`.
    AvgPool {
        /// Window side.
        size: usize,
    },
    /// Max pooling over `size x size` windows, stride `size`.
    MaxPool {
        /// Window side.
        size: usize,
    },
    /// A dense layer of `units` outputs.
    Dense {
        /// Outputs.
        units: usize,
    },
}

fn one() -> usize {
    1
}

impl std::fmt::Display for LayerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerToken::Conv {
                channels,
                kernel,
                padding,
                stride,
            } => {
                write!(f, "c{channels}k{kernel}")?;
                if *padding > 0 {
                    write!(f, "p{padding}")?;
                }
                if *stride != 1 {
                    write!(f, "s{stride}")?;
                }
                Ok(())
            }
            LayerToken::Relu => write!(f, "relu"),
            LayerToken::AvgPool { size } => write!(f, "avg{size}"),
            LayerToken::MaxPool { size } => write!(f, "max{size}"),
            LayerToken::Dense { units } => write!(f, "d{units}"),
        }
    }
}

/// The structured form of an architecture: the input's shape (`[features]`
/// or `[channels, height, width]`) and its layers in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchLayers {
    /// The input's shape.
    pub input: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerToken>,
}

/// One convolutional-part layer of a trained CNN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConvLayer {
    /// A 2-D convolution (square kernel), optionally followed by ReLU.
    Conv {
        /// Output channels.
        channels: usize,
        /// Kernel side.
        kernel: usize,
        /// Zero padding on every side.
        padding: usize,
        /// Stride.
        stride: usize,
        /// Whether ReLU follows.
        relu: bool,
    },
    /// Average pooling, window and stride `size`.
    AvgPool {
        /// Window side.
        size: usize,
    },
    /// Max pooling, window and stride `size`.
    MaxPool {
        /// Window side.
        size: usize,
    },
}

/// The convolutional part of a CNN: its input shape and layers. Its output,
/// flattened channel-major, is the dense layers' input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvLayers {
    /// `[channels, height, width]` of the input.
    pub input: [usize; 3],
    /// The layers, in order.
    pub layers: Vec<ConvLayer>,
}

/// A model architecture: convolutional layers (for a CNN), then dense layers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arch {
    /// The convolutional part, if any.
    pub conv: Option<ConvLayers>,
    /// The dense layers' widths: their input (the features, or the
    /// convolutional part's output length), then each layer's outputs.
    pub widths: Vec<usize>,
}

impl ConvLayers {
    /// The layers as quantized-model layers (shapes only), with the shape
    /// each takes; checks every shape rule in the module documentation.
    pub fn qlayers(&self) -> Result<Vec<QLayer>, ArchError> {
        let [mut c, mut h, mut w] = self.input;
        let fail = |index: usize, layer: String, reason: String| ArchError::Shape {
            index,
            layer,
            reason,
        };
        for (name, v) in [("channels", c), ("height", h), ("width", w)] {
            if v == 0 || v > MAX_CONV_DIM {
                return Err(fail(
                    0,
                    "input".into(),
                    format!("{name} {v} outside 1 to {MAX_CONV_DIM}"),
                ));
            }
        }
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            let name = l.token_string();
            match *l {
                ConvLayer::Conv {
                    channels,
                    kernel,
                    padding,
                    stride,
                    relu,
                } => {
                    if channels == 0 || channels > MAX_CONV_DIM {
                        return Err(fail(
                            i,
                            name,
                            format!("{channels} channels (1 to {MAX_CONV_DIM})"),
                        ));
                    }
                    // Bounded before any arithmetic: a statement's numbers
                    // may be anything.
                    if kernel == 0 || kernel > MAX_CONV_DIM {
                        return Err(fail(
                            i,
                            name,
                            format!("a kernel of {kernel} (1 to {MAX_CONV_DIM})"),
                        ));
                    }
                    if padding >= kernel {
                        return Err(fail(
                            i,
                            name,
                            format!("padding {padding} must be smaller than the kernel {kernel}"),
                        ));
                    }
                    if stride == 0 || stride > kernel {
                        return Err(fail(
                            i,
                            name,
                            format!(
                                "stride {stride} must lie in 1 to the kernel {kernel} \
                                 (a larger one skips inputs)"
                            ),
                        ));
                    }
                    if kernel > h + 2 * padding || kernel > w + 2 * padding {
                        return Err(fail(
                            i,
                            name,
                            format!(
                                "a {kernel}x{kernel} kernel does not fit its {h}x{w} input \
                                 padded by {padding}"
                            ),
                        ));
                    }
                    for (axis, n) in [("height", h), ("width", w)] {
                        if (n + 2 * padding - kernel) % stride != 0 {
                            return Err(fail(
                                i,
                                name,
                                format!(
                                    "stride {stride} does not divide the padded {axis} \
                                     {n} + 2x{padding} less the kernel {kernel}"
                                ),
                            ));
                        }
                    }
                    let layer = QLayer::Conv2d {
                        in_channels: c,
                        out_channels: channels,
                        height: h,
                        width: w,
                        kernel: [kernel, kernel],
                        stride,
                        padding,
                        activation: relu.then_some(crate::fixed::Activation::Relu),
                    };
                    (h, w) = layer.out_hw();
                    c = channels;
                    out.push(layer);
                }
                ConvLayer::AvgPool { size } | ConvLayer::MaxPool { size } => {
                    let avg = matches!(l, ConvLayer::AvgPool { .. });
                    if !(2..=MAX_POOL).contains(&size) || (avg && !size.is_power_of_two()) {
                        return Err(fail(
                            i,
                            name,
                            format!(
                                "a window of {size} (2 to {MAX_POOL}{})",
                                if avg { ", a power of two" } else { "" }
                            ),
                        ));
                    }
                    if h % size != 0 || w % size != 0 {
                        return Err(fail(
                            i,
                            name,
                            format!("{size}x{size} windows do not divide its {h}x{w} input"),
                        ));
                    }
                    let (channels, height, width, kernel, stride) = (c, h, w, size, size);
                    out.push(if avg {
                        QLayer::AvgPool2d {
                            channels,
                            height,
                            width,
                            kernel,
                            stride,
                        }
                    } else {
                        QLayer::MaxPool2d {
                            channels,
                            height,
                            width,
                            kernel,
                            stride,
                        }
                    });
                    (h, w) = (h / size, w / size);
                }
            }
        }
        Ok(out)
    }

    /// The input length (`channels * height * width`).
    pub fn input_len(&self) -> usize {
        self.input.iter().product()
    }

    /// The output length, if the shapes are valid.
    pub fn output_len(&self) -> Result<usize, ArchError> {
        let layers = self.qlayers()?;
        Ok(layers.last().map_or(self.input_len(), QLayer::output_len))
    }
}

impl ConvLayer {
    fn token_string(&self) -> String {
        match *self {
            ConvLayer::Conv {
                channels,
                kernel,
                padding,
                stride,
                relu,
            } => {
                let c = LayerToken::Conv {
                    channels,
                    kernel,
                    padding,
                    stride,
                };
                if relu {
                    format!("{c}-relu")
                } else {
                    c.to_string()
                }
            }
            ConvLayer::AvgPool { size } => LayerToken::AvgPool { size }.to_string(),
            ConvLayer::MaxPool { size } => LayerToken::MaxPool { size }.to_string(),
        }
    }
}

impl Arch {
    /// An MLP of `widths` (inputs first, classes last).
    pub fn mlp(widths: Vec<usize>) -> Self {
        Self { conv: None, widths }
    }

    /// Parses the shorthand (`mlp:...` or `cnn:...`).
    pub fn parse(text: &str) -> Result<Self, ArchError> {
        let syntax = |reason: &str| ArchError::Syntax {
            text: text.into(),
            reason: reason.into(),
        };
        let number = positive;
        if let Some(body) = text.strip_prefix("mlp:") {
            let widths: Vec<usize> = body
                .split('-')
                .map(number)
                .collect::<Option<_>>()
                .ok_or_else(|| syntax("widths must be positive integers separated by '-'"))?;
            if widths.len() < 2 {
                return Err(syntax("an MLP has an input width and at least one layer"));
            }
            let layers = widths[1..]
                .iter()
                .enumerate()
                .flat_map(|(i, u)| {
                    let relu = (i + 2 < widths.len()).then_some(LayerToken::Relu);
                    std::iter::once(LayerToken::Dense { units: *u }).chain(relu)
                })
                .collect();
            return Self::from_layers(&ArchLayers {
                input: vec![widths[0]],
                layers,
            });
        }
        let body = text
            .strip_prefix("cnn:")
            .ok_or_else(|| syntax("expected mlp: or cnn:"))?;
        let mut parts = body.split('-');
        let input: Vec<usize> = parts
            .next()
            .unwrap_or_default()
            .split('x')
            .map(number)
            .collect::<Option<_>>()
            .filter(|v: &Vec<usize>| v.len() == 3)
            .ok_or_else(|| syntax("the input is <channels>x<height>x<width>, e.g. 1x8x8"))?;
        let layers = parts
            .map(|t| parse_token(t).ok_or_else(|| syntax(&format!("unknown layer {t:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_layers(&ArchLayers { input, layers })
    }

    /// Builds the architecture from its layers, checking the order (the
    /// convolutional part first, dense layers last, ReLU after a convolution
    /// or between dense layers) and every shape.
    pub fn from_layers(a: &ArchLayers) -> Result<Self, ArchError> {
        if a.layers.len() > MAX_LAYERS {
            return Err(ArchError::Syntax {
                text: format!("{} layers", a.layers.len()),
                reason: format!("at most {MAX_LAYERS} layers (ReLU included)"),
            });
        }
        let fail = |index: usize, reason: &str| ArchError::Shape {
            index,
            layer: a
                .layers
                .get(index)
                .map_or("input".into(), LayerToken::to_string),
            reason: reason.into(),
        };
        let mut conv = Vec::new();
        let mut widths = Vec::new();
        let mut relu_ok = false;
        for (i, t) in a.layers.iter().enumerate() {
            match *t {
                LayerToken::Relu => {
                    if !relu_ok {
                        return Err(fail(i, "ReLU follows a convolution or a dense layer, once"));
                    }
                    relu_ok = false;
                    if widths.is_empty() {
                        if let Some(ConvLayer::Conv { relu, .. }) = conv.last_mut() {
                            *relu = true;
                        }
                    }
                }
                LayerToken::Dense { units } => {
                    if units == 0 || units > MAX_WIDTH {
                        return Err(fail(i, "a dense layer has 1 to 4096 units"));
                    }
                    if !widths.is_empty() && !matches!(a.layers[i - 1], LayerToken::Relu) {
                        return Err(fail(i, "dense layers need a ReLU between them"));
                    }
                    widths.push(units);
                    relu_ok = true;
                }
                LayerToken::Conv {
                    channels,
                    kernel,
                    padding,
                    stride,
                } => {
                    if !widths.is_empty() {
                        return Err(fail(i, "convolutions come before the dense layers"));
                    }
                    conv.push(ConvLayer::Conv {
                        channels,
                        kernel,
                        padding,
                        stride,
                        relu: false,
                    });
                    relu_ok = true;
                }
                LayerToken::AvgPool { size } | LayerToken::MaxPool { size } => {
                    if !widths.is_empty() {
                        return Err(fail(i, "pooling comes before the dense layers"));
                    }
                    if conv.is_empty() && matches!(t, LayerToken::MaxPool { .. }) {
                        return Err(fail(
                            i,
                            "max pooling cannot be the first layer (it would keep the raw \
                             input's format): put a convolution or average pooling first",
                        ));
                    }
                    conv.push(if matches!(t, LayerToken::AvgPool { .. }) {
                        ConvLayer::AvgPool { size }
                    } else {
                        ConvLayer::MaxPool { size }
                    });
                    relu_ok = false;
                }
            }
        }
        if widths.is_empty() {
            return Err(fail(
                a.layers.len(),
                "the last layer is a dense layer (its width is the class count)",
            ));
        }
        if matches!(a.layers.last(), Some(LayerToken::Relu)) {
            return Err(fail(
                a.layers.len() - 1,
                "the last dense layer gives the logits: no ReLU after it",
            ));
        }
        let conv = match (a.input.as_slice(), conv.is_empty()) {
            ([c, h, w], true) => {
                // No convolution or pooling: an MLP on the flattened input.
                let n = c.saturating_mul(*h).saturating_mul(*w);
                if n == 0 || n > MAX_WIDTH {
                    return Err(fail(a.layers.len(), "an MLP has 1 to 4096 inputs"));
                }
                widths.insert(0, n);
                None
            }
            ([n], true) => {
                if *n == 0 || *n > MAX_WIDTH {
                    return Err(fail(a.layers.len(), "an MLP has 1 to 4096 inputs"));
                }
                widths.insert(0, *n);
                None
            }
            ([c, h, w], _) => {
                let conv = ConvLayers {
                    input: [*c, *h, *w],
                    layers: conv,
                };
                let flat = conv.output_len()?;
                if flat > MAX_WIDTH {
                    return Err(fail(
                        a.layers
                            .iter()
                            .position(|l| matches!(l, LayerToken::Dense { .. }))
                            .unwrap_or(0),
                        &format!(
                            "the convolutional layers' output flattens to {flat} values and a \
                             dense layer takes at most {MAX_WIDTH}: pool, stride or use fewer \
                             channels"
                        ),
                    ));
                }
                widths.insert(0, flat);
                Some(conv)
            }
            _ => {
                return Err(ArchError::Syntax {
                    text: format!("{:?}", a.input),
                    reason: "the input shape is [features] or, with convolutions or pooling, \
                             [channels, height, width]"
                        .into(),
                })
            }
        };
        Ok(Self { conv, widths })
    }

    /// The input length.
    pub fn input_len(&self) -> usize {
        self.conv
            .as_ref()
            .map_or(self.widths.first().copied().unwrap_or(0), |c| c.input_len())
    }

    /// The number of classes (the last width).
    pub fn classes(&self) -> usize {
        self.widths.last().copied().unwrap_or(0)
    }
}

/// A decimal number as the shorthand writes it: ASCII digits only, no sign
/// and no leading zero (so every architecture has one spelling).
fn decimal(s: &str) -> Option<usize> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// A positive [`decimal`].
fn positive(s: &str) -> Option<usize> {
    decimal(s).filter(|v| *v > 0)
}

fn parse_token(t: &str) -> Option<LayerToken> {
    let number = positive;
    if t == "relu" {
        return Some(LayerToken::Relu);
    }
    if let Some(n) = t.strip_prefix("avg") {
        return number(n).map(|size| LayerToken::AvgPool { size });
    }
    if let Some(n) = t.strip_prefix("max") {
        return number(n).map(|size| LayerToken::MaxPool { size });
    }
    if let Some(n) = t.strip_prefix('d') {
        return number(n).map(|units| LayerToken::Dense { units });
    }
    let rest = t.strip_prefix('c')?;
    let (channels, rest) = rest.split_once('k')?;
    // The kernel, then p<padding> and s<stride> in either order, each at
    // most once.
    let (kernel, mut rest) = split_digits(rest);
    let (mut padding, mut stride) = (None, None);
    while let Some(c) = rest.chars().next() {
        let (digits, r) = split_digits(&rest[c.len_utf8()..]);
        match c {
            'p' if padding.is_none() => padding = Some(decimal(digits)?),
            's' if stride.is_none() => stride = Some(number(digits)?),
            _ => return None,
        }
        rest = r;
    }
    Some(LayerToken::Conv {
        channels: number(channels)?,
        kernel: number(kernel)?,
        padding: padding.unwrap_or(0),
        stride: stride.unwrap_or(1),
    })
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.conv {
            None => {
                let w: Vec<String> = self.widths.iter().map(|w| w.to_string()).collect();
                write!(f, "mlp:{}", w.join("-"))
            }
            Some(c) => {
                let [ch, h, w] = c.input;
                write!(f, "cnn:{ch}x{h}x{w}")?;
                for l in &c.layers {
                    write!(f, "-{}", l.token_string())?;
                }
                for (i, u) in self.widths[1..].iter().enumerate() {
                    if i > 0 {
                        write!(f, "-relu")?;
                    }
                    write!(f, "-d{u}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shorthands_parse_and_print_back() {
        let a = Arch::parse("cnn:1x8x8-c4k3p1-relu-avg2-d10").unwrap();
        assert_eq!(a.widths, vec![64, 10]);
        let conv = a.conv.clone().unwrap();
        assert_eq!(conv.input, [1, 8, 8]);
        assert_eq!(
            conv.layers,
            vec![
                ConvLayer::Conv {
                    channels: 4,
                    kernel: 3,
                    padding: 1,
                    stride: 1,
                    relu: true
                },
                ConvLayer::AvgPool { size: 2 }
            ]
        );
        assert_eq!(a.to_string(), "cnn:1x8x8-c4k3p1-relu-avg2-d10");
        for s in [
            "mlp:64-32-10",
            "mlp:4-3",
            "cnn:1x8x8-c4k3p1-relu-max2-d16-relu-d10",
            "cnn:3x16x16-c8k4s2p1-relu-c8k3p1-relu-avg2-d10",
            "cnn:1x8x8-avg2-d3",
        ] {
            let a = Arch::parse(s).unwrap();
            assert_eq!(a.to_string(), s.replace("k4s2p1", "k4p1s2"), "{s}");
            assert_eq!(Arch::parse(&a.to_string()).unwrap(), a);
        }
        let mlp = Arch::parse("mlp:64-32-10").unwrap();
        assert_eq!(mlp, Arch::mlp(vec![64, 32, 10]));
        // Two convolutions: 16x16 -> 8x8 (stride 2) -> 8x8, pooled to 4x4.
        let a = Arch::parse("cnn:3x16x16-c8k4s2p1-relu-c8k3p1-relu-avg2-d10").unwrap();
        assert_eq!(a.widths, vec![8 * 4 * 4, 10]);
        assert_eq!(a.input_len(), 3 * 16 * 16);
    }

    #[test]
    fn the_structured_form_equals_the_shorthand() {
        let json = r#"{"input": [1, 8, 8], "layers": [
            {"op": "conv", "channels": 4, "kernel": 3, "padding": 1},
            {"op": "relu"}, {"op": "avg_pool", "size": 2}, {"op": "dense", "units": 10}]}"#;
        let layers: ArchLayers = serde_json::from_str(json).unwrap();
        assert_eq!(
            Arch::from_layers(&layers).unwrap(),
            Arch::parse("cnn:1x8x8-c4k3p1-relu-avg2-d10").unwrap()
        );
        let bad = r#"{"input": [1, 8, 8], "layers": [{"op": "conv", "chanels": 4, "kernel": 3}]}"#;
        assert!(serde_json::from_str::<ArchLayers>(bad).is_err());
    }

    #[test]
    fn bad_architectures_name_the_layer_and_the_rule() {
        for (s, needle) in [
            ("cnn:1x8x8-c4k9-d10", "does not fit"),
            ("cnn:1x8x8-c4k3s2-d10", "does not divide"),
            ("cnn:1x8x8-c4k2s3-d10", "skips inputs"),
            ("cnn:1x8x8-c4k3p3-d10", "smaller than the kernel"),
            ("cnn:1x6x6-avg4-d10", "do not divide"),
            ("cnn:1x8x8-avg3-d10", "power of two"),
            ("cnn:1x8x8-relu-d10", "ReLU follows"),
            ("cnn:1x8x8-c4k3-relu-relu-d10", "ReLU follows"),
            ("cnn:1x8x8-c4k3-avg2-relu-d10", "ReLU follows"),
            ("cnn:1x8x8-d10-c4k3", "before the dense"),
            ("cnn:1x8x8-d10-d5", "ReLU between"),
            ("cnn:1x8x8-d10-relu", "no ReLU after"),
            ("cnn:1x8x8-c4k3", "last layer is a dense"),
            ("cnn:1x8-c4k3-d10", "channels>x<height"),
            ("cnn:1x8x8-c4k3q1-d10", "unknown layer"),
            ("cnn:0x8x8-c4k3-d10", "channels>x<height"),
            ("cnn:1x8x8-c0k3-d10", "unknown layer"),
            ("mlp:64", "at least one layer"),
            ("mlp:64-x-10", "positive integers"),
            ("rnn:4-3", "expected mlp: or cnn:"),
            ("cnn:1x300x8-c4k3-d10", "outside 1 to 256"),
            ("cnn:1x8x8-c4k3\u{e9}-d10", "unknown layer"),
            ("cnn:1x8x8-c4k3p\u{e9}1-d10", "unknown layer"),
            ("cnn:+1x8x8-c4k3-d10", "channels>x<height"),
            ("cnn:1x8x8-c+4k3-d10", "unknown layer"),
            ("cnn:1x8x8-c4k03p1-d10", "unknown layer"),
            ("cnn:1x8x8-c4k3p01-d10", "unknown layer"),
            ("mlp:064-10", "positive integers"),
            ("cnn:1x8x8-max2-d10", "max pooling cannot be the first"),
            ("cnn:1x8x8-c256k3p1-d10", "flattens to 16384 values"),
        ] {
            let err = Arch::parse(s).unwrap_err().to_string();
            assert!(err.contains(needle), "{s}: {err}");
        }
    }
}
