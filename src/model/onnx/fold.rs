//! From the activation's chain of steps to the layers the circuits prove:
//! leading affine steps become the public input preprocessing; other affine
//! steps (batch normalization, constant arithmetic, biases) fold into the
//! dense or convolution layer before or after them; feature selections and
//! transposes fold into the next dense layer, zero padding into the next
//! convolution; softmax-like heads are proven as their argmax.

use super::super::ir::{Layer, Model, Preprocess};
use super::super::ModelError;
use super::Step;

/// A step waiting for the next layer with weights.
enum Pending {
    Affine {
        scale: Vec<f64>,
        shift: Vec<f64>,
        shape: Vec<usize>,
        node: String,
    },
    Select {
        perm: Vec<usize>,
        from: usize,
        node: String,
    },
    Pad {
        pad: usize,
        node: String,
    },
}

impl Pending {
    fn node(&self) -> &str {
        match self {
            Pending::Affine { node, .. }
            | Pending::Select { node, .. }
            | Pending::Pad { node, .. } => node,
        }
    }
}

fn refuse(node: &str, reason: impl Into<String>) -> ModelError {
    ModelError::Shape(format!("{node}: {}", reason.into()))
}

/// The per-channel values of a per-element vector over `shape` (channels
/// first), if constant over each channel.
fn per_channel(v: &[f64], shape: &[usize]) -> Option<Vec<f64>> {
    let channels = *shape.first()?;
    let per = v.len() / channels.max(1);
    if per == 0 || per * channels != v.len() {
        return None;
    }
    let out: Vec<f64> = (0..channels).map(|c| v[c * per]).collect();
    v.chunks(per.max(1))
        .zip(&out)
        .all(|(chunk, c)| chunk.iter().all(|x| x == c))
        .then_some(out)
}

/// Folds `y = s * x + t` (over the layer's outputs) into the layer before.
fn fold_back(
    layer: &mut Layer,
    scale: &[f64],
    shift: &[f64],
    shape: &[usize],
    node: &str,
) -> Result<(), ModelError> {
    match layer {
        Layer::Dense {
            inputs,
            weight,
            bias,
            ..
        } => {
            for (o, b) in bias.iter_mut().enumerate() {
                for w in &mut weight[o * *inputs..(o + 1) * *inputs] {
                    *w = (*w as f64 * scale[o]) as f32;
                }
                *b = (*b as f64 * scale[o] + shift[o]) as f32;
            }
            Ok(())
        }
        Layer::Conv2d {
            out_channels,
            weight,
            bias,
            ..
        } => {
            let (s, t) = match (per_channel(scale, shape), per_channel(shift, shape)) {
                (Some(s), Some(t)) => (s, t),
                _ => {
                    return Err(refuse(
                        node,
                        "a scale or shift after a convolution that is not per channel",
                    ))
                }
            };
            let per = weight.len() / (*out_channels).max(1);
            for oc in 0..*out_channels {
                for w in &mut weight[oc * per..(oc + 1) * per] {
                    *w = (*w as f64 * s[oc]) as f32;
                }
                bias[oc] = (bias[oc] as f64 * s[oc] + t[oc]) as f32;
            }
            Ok(())
        }
        _ => Err(refuse(node, "internal: no layer to fold into")),
    }
}

/// Folds the pending steps (in order) into the dense layer after them.
fn fold_into_dense(pending: Vec<Pending>, layer: &mut Layer) -> Result<Vec<String>, ModelError> {
    let mut notes = Vec::new();
    for p in pending.into_iter().rev() {
        let Layer::Dense {
            inputs,
            outputs,
            weight,
            bias,
        } = layer
        else {
            return Err(refuse(p.node(), "internal: not a dense layer"));
        };
        match p {
            Pending::Affine {
                scale, shift, node, ..
            } => {
                for o in 0..*outputs {
                    let row = &mut weight[o * *inputs..(o + 1) * *inputs];
                    let mut extra = 0.0;
                    for (i, w) in row.iter_mut().enumerate() {
                        extra += *w as f64 * shift[i];
                        *w = (*w as f64 * scale[i]) as f32;
                    }
                    bias[o] = (bias[o] as f64 + extra) as f32;
                }
                notes.push(format!(
                    "{node}: constant scale and shift folded into the next dense layer"
                ));
            }
            Pending::Select { perm, from, node } => {
                let source = from;
                let mut w = vec![0.0f64; *outputs * source];
                for o in 0..*outputs {
                    for (j, src) in perm.iter().enumerate() {
                        w[o * source + src] += weight[o * *inputs + j] as f64;
                    }
                }
                *weight = w.into_iter().map(|v| v as f32).collect();
                *inputs = source;
                notes.push(format!(
                    "{node}: reordering folded into the next dense layer"
                ));
            }
            Pending::Pad { node, .. } => {
                return Err(refuse(
                    &node,
                    "zero padding must be followed by a convolution",
                ))
            }
        }
    }
    Ok(notes)
}

/// Folds pending padding and per-channel affine steps into the convolution
/// after them.
fn fold_into_conv(pending: Vec<Pending>, layer: &mut Layer) -> Result<Vec<String>, ModelError> {
    let mut notes = Vec::new();
    for p in pending.into_iter().rev() {
        let Layer::Conv2d {
            in_channels,
            out_channels,
            height,
            width,
            kernel,
            padding,
            weight,
            bias,
            ..
        } = layer
        else {
            return Err(refuse(p.node(), "internal: not a convolution"));
        };
        match p {
            Pending::Pad { pad, node } => {
                // The convolution saw the padded map; it now pads the original.
                *height -= 2 * pad;
                *width -= 2 * pad;
                *padding += pad;
                notes.push(format!(
                    "{node}: zero padding folded into the next convolution"
                ));
            }
            Pending::Affine {
                scale,
                shift,
                shape,
                node,
            } => {
                let (Some(s), Some(t)) = (per_channel(&scale, &shape), per_channel(&shift, &shape))
                else {
                    return Err(refuse(
                        &node,
                        "a scale or shift before a convolution that is not per channel",
                    ));
                };
                if *padding > 0 && t.iter().any(|v| *v != 0.0) {
                    return Err(refuse(
                        &node,
                        "a shift before a padded convolution cannot be folded (the padding \
                         would see it)",
                    ));
                }
                let per = kernel[0] * kernel[1];
                for (oc, b) in bias.iter_mut().enumerate().take(*out_channels) {
                    let mut extra = 0.0;
                    for ic in 0..*in_channels {
                        let at = (oc * *in_channels + ic) * per;
                        for w in &mut weight[at..at + per] {
                            extra += *w as f64 * t[ic];
                            *w = (*w as f64 * s[ic]) as f32;
                        }
                    }
                    *b = (*b as f64 + extra) as f32;
                }
                notes.push(format!(
                    "{node}: per-channel scale and shift folded into the next convolution"
                ));
            }
            Pending::Select { node, .. } => {
                return Err(refuse(
                    &node,
                    "a reordering before a convolution is not supported",
                ))
            }
        }
    }
    Ok(notes)
}

/// Merges `second ∘ first` (two dense layers with nothing between) when the
/// product is no larger than the two.
fn merge_dense(first: &Layer, second: &Layer) -> Option<Layer> {
    let (
        Layer::Dense {
            inputs: i1,
            outputs: o1,
            weight: w1,
            bias: b1,
        },
        Layer::Dense {
            outputs: o2,
            weight: w2,
            bias: b2,
            ..
        },
    ) = (first, second)
    else {
        return None;
    };
    if o2 * i1 > o2 * o1 + o1 * i1 {
        return None;
    }
    let mut weight = vec![0.0f32; o2 * i1];
    let mut bias = vec![0.0f32; *o2];
    for o in 0..*o2 {
        let mut b = b2[o] as f64;
        for k in 0..*o1 {
            let w = w2[o * o1 + k] as f64;
            b += w * b1[k] as f64;
            for i in 0..*i1 {
                weight[o * i1 + i] += (w * w1[k * i1 + i] as f64) as f32;
            }
        }
        bias[o] = b as f32;
    }
    Some(Layer::Dense {
        inputs: *i1,
        outputs: *o2,
        weight,
        bias,
    })
}

/// Builds the model from the chain of the proven output.
pub(super) fn build(input_len: usize, chain: Vec<(Step, Vec<usize>)>) -> Result<Model, ModelError> {
    let mut pre: Option<(Vec<f64>, Vec<f64>)> = None;
    let mut layers: Vec<Layer> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    // Whether the last layer takes weights and nothing came after it.
    let mut linear_last = false;
    let mut head: Option<String> = None;
    let tail_ok = |rest: &[(Step, Vec<usize>)]| {
        rest.iter()
            .all(|(s, _)| matches!(s, Step::Monotone { .. } | Step::Layer(Layer::Argmax)))
    };
    for i in 0..chain.len() {
        let (step, before) = &chain[i];
        match step.clone() {
            Step::Affine {
                scale,
                shift,
                shape,
                node,
            } => {
                if layers.is_empty() && pending.is_empty() {
                    let (s0, t0) = pre.unwrap_or((vec![1.0; input_len], vec![0.0; input_len]));
                    if scale.len() != input_len {
                        return Err(refuse(&node, "internal: preprocessing of the wrong length"));
                    }
                    let s = s0.iter().zip(&scale).map(|(a, b)| a * b).collect();
                    let t = t0
                        .iter()
                        .zip(scale.iter().zip(&shift))
                        .map(|(a, (s, t))| a * s + t)
                        .collect();
                    pre = Some((s, t));
                    notes.push(format!("{node}: kept as public input preprocessing"));
                } else if linear_last && pending.is_empty() {
                    if let Some(last) = layers.last_mut() {
                        fold_back(last, &scale, &shift, &shape, &node)?;
                    }
                    if !(scale.iter().all(|v| *v == 1.0)) {
                        notes.push(format!("{node}: folded into the layer before it"));
                    }
                } else {
                    pending.push(Pending::Affine {
                        scale,
                        shift,
                        shape,
                        node,
                    });
                }
            }
            Step::Permute { perm, node } => pending.push(Pending::Select {
                perm,
                from: before.iter().product(),
                node,
            }),
            Step::Pad { pad, node } => pending.push(Pending::Pad { pad, node }),
            Step::Monotone { what, node } => {
                if !tail_ok(&chain[i + 1..]) {
                    return Err(refuse(
                        &node,
                        format!("a {what} is supported only as the model's head"),
                    ));
                }
                if !pending.is_empty() {
                    return Err(refuse(
                        &node,
                        "a constant op before the head cannot be folded",
                    ));
                }
                head.get_or_insert(what);
            }
            Step::Layer(mut layer) => {
                match &layer {
                    Layer::Dense { .. } => {
                        notes.extend(fold_into_dense(std::mem::take(&mut pending), &mut layer)?);
                        if linear_last {
                            if let Some(m) = layers.last().and_then(|l| merge_dense(l, &layer)) {
                                layers.pop();
                                layer = m;
                            }
                        }
                        linear_last = true;
                    }
                    Layer::Conv2d { .. } => {
                        notes.extend(fold_into_conv(std::mem::take(&mut pending), &mut layer)?);
                        linear_last = true;
                    }
                    Layer::AvgPool2d {
                        channels,
                        kernel,
                        stride,
                        height,
                        width,
                    }
                    | Layer::MaxPool2d {
                        channels,
                        kernel,
                        stride,
                        height,
                        width,
                    } => {
                        // A per-channel affine step commutes with average
                        // pooling, and with max pooling when it scales up.
                        let max = matches!(layer, Layer::MaxPool2d { .. });
                        let (oh, ow) = (
                            (height - kernel) / stride + 1,
                            (width - kernel) / stride + 1,
                        );
                        let mut moved = Vec::new();
                        for p in std::mem::take(&mut pending) {
                            match p {
                                Pending::Affine {
                                    scale,
                                    shift,
                                    shape,
                                    node,
                                } => {
                                    let (Some(s), Some(t)) =
                                        (per_channel(&scale, &shape), per_channel(&shift, &shape))
                                    else {
                                        return Err(refuse(&node, "a scale or shift before pooling that is not per channel"));
                                    };
                                    if max && s.iter().any(|v| *v <= 0.0) {
                                        return Err(refuse(
                                            &node,
                                            "a non-positive scale before max pooling",
                                        ));
                                    }
                                    let per = oh * ow;
                                    moved.push(Pending::Affine {
                                        scale: s
                                            .iter()
                                            .flat_map(|v| std::iter::repeat_n(*v, per))
                                            .collect(),
                                        shift: t
                                            .iter()
                                            .flat_map(|v| std::iter::repeat_n(*v, per))
                                            .collect(),
                                        shape: vec![*channels, oh, ow],
                                        node,
                                    });
                                }
                                other => return Err(refuse(
                                    other.node(),
                                    "must be followed by a convolution or dense layer, not pooling",
                                )),
                            }
                        }
                        pending = moved;
                        linear_last = false;
                    }
                    Layer::Relu
                    | Layer::Sigmoid
                    | Layer::Tanh
                    | Layer::Relu6
                    | Layer::LeakyRelu { .. }
                    | Layer::Argmax => {
                        if let Some(p) = pending.first() {
                            return Err(refuse(
                                p.node(),
                                "a constant op before an activation or the argmax cannot be \
                                 folded into a layer with weights",
                            ));
                        }
                        linear_last = false;
                    }
                }
                layers.push(layer);
            }
        }
    }
    if let Some(p) = pending.first() {
        return Err(refuse(
            p.node(),
            "a constant op after the last layer with weights cannot be folded",
        ));
    }
    // A sigmoid right before the argmax does not change it.
    if layers.len() >= 2
        && layers[layers.len() - 1] == Layer::Argmax
        && layers[layers.len() - 2] == Layer::Sigmoid
    {
        layers.remove(layers.len() - 2);
        notes.push(
            "the sigmoid before the argmax is left out: it does not change the argmax".into(),
        );
    }
    if let Some(what) = head {
        if layers.last() == Some(&Layer::Argmax) {
            notes.push(format!(
                "the {what} before the argmax is left out: it does not change the argmax"
            ));
        } else {
            layers.push(Layer::Argmax);
            notes.push(format!(
                "the {what} head is proven as its argmax: the proven output is the class \
                 index (the largest logit), not the probabilities"
            ));
        }
    }
    let preprocess = pre.map(|(scale, shift)| Preprocess { scale, shift });
    Ok(Model {
        input_len,
        layers,
        preprocess,
        labels: None,
        notes,
    })
}
