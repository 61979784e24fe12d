//! Operators on the activation: each adds a step to its chain (or changes
//! only its shape), with its attributes and constant inputs checked.

use super::super::ir::Layer;
use super::super::ModelError;
use super::shape::{
    self, axis, broadcast_dims, expand, reshape_dims, squeeze_dims, unsqueeze_dims,
};
use super::tensor::{attr, attr_f, attr_i, attr_ints, attr_s, dtype, is_float, Constant};
use super::{ml, op_name, Graph, Node, Step, Value};

/// The error for an operator zkpot does not import, with a suggestion
/// where one is known.
pub(super) fn unsupported(node: &Node) -> ModelError {
    let hint = match node.n.op_type.as_str() {
        "ZipMap" => "; it turns probabilities into a list of maps: export with skl2onnx's \
                     options={\"zipmap\": False}"
            .to_string(),
        "Elu" | "Selu" | "Gelu" | "HardSigmoid" | "HardSwish" | "Softplus" | "Mish" | "PRelu"
        | "Celu" => "; the activations proven are ReLU, ReLU6, leaky ReLU, the sigmoid and \
                     tanh: train the model with one of them"
            .into(),
        "LSTM" | "GRU" | "RNN" => "; recurrent layers are not supported".into(),
        "QuantizeLinear" | "DequantizeLinear" | "QLinearConv" | "QLinearMatMul"
        | "MatMulInteger" | "ConvInteger" => {
            "; export the float model: zkpot quantizes it itself".into()
        }
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" | "SVMClassifier" | "SVMRegressor" => {
            "; zkpot proves neural networks and linear models, not trees or SVMs".into()
        }
        "ConvTranspose" => "; transposed convolutions are not supported".into(),
        "Resize" | "Upsample" => "; resizing is not supported".into(),
        _ => String::new(),
    };
    ModelError::Unsupported {
        op: op_name(node.n),
        node: node.label(),
        hint,
    }
}

/// Evaluates one node.
pub(super) fn apply(g: &mut Graph, node: &Node) -> Result<Vec<Value>, ModelError> {
    let n = node.n;
    let standard = n.domain.is_empty() || n.domain == "ai.onnx";
    if standard && n.op_type == "Constant" {
        return shape::constant(node);
    }
    let uses_act = (0..node.arity()).any(|i| matches!(node.value(i), Some(Value::Act(_))));
    if !uses_act {
        return match shape::fold(node)? {
            Some(v) => Ok(v),
            None => Err(unsupported(node)),
        };
    }
    if n.domain == "ai.onnx.ml" {
        return ml::apply(g, node);
    }
    if !standard {
        return Err(unsupported(node));
    }
    match n.op_type.as_str() {
        "Add" | "Sub" | "Mul" | "Div" => return Ok(vec![elementwise(g, node)?]),
        "Concat" => return Ok(vec![concat(g, node)?]),
        _ => {}
    }
    let x = node.act(0)?;
    let sh = g.shape(x).to_vec();
    let same = |g: &mut Graph, step: Step| g.push(x, Some(step), sh.clone());
    let v = match n.op_type.as_str() {
        "Identity" => Value::Act(x),
        "Dropout" => {
            if node.has(2) && node.num(2)?.data.iter().any(|v| *v != 0.0) {
                return Err(node.err("training-mode dropout is not supported"));
            }
            Value::Act(x)
        }
        "Cast" => {
            let to = attr_i(n, "to", dtype::FLOAT as i64) as i32;
            if !is_float(to) && !g.is_class(x) {
                return Err(node.err(format!(
                    "a cast of the activation to {}: only float casts are supported",
                    super::tensor::dtype_name(to)
                )));
            }
            Value::Act(x)
        }
        "Shape" => {
            let full: Vec<i64> = std::iter::once(1)
                .chain(sh.iter().map(|d| *d as i64))
                .collect();
            let dims = shape::slice_shape(node, full);
            Value::Const(Constant::Numbers(super::tensor::Const::new(
                n.output.first().map_or("", |s| s.as_str()),
                vec![dims.len()],
                dims.into_iter().map(|d| d as f64).collect(),
                dtype::INT64,
            )))
        }
        "Gemm" => gemm(g, node, x)?,
        "MatMul" => {
            let b = node.num(1)?;
            let inputs = vector_len(node, &sh)?;
            if b.dims.len() != 2 || b.dims[0] != inputs {
                return Err(node.err(format!(
                    "the right side must be a {inputs} x n matrix, not {:?}",
                    b.dims
                )));
            }
            let outputs = b.dims[1];
            let w = b.weights()?;
            let layer = Layer::Dense {
                inputs,
                outputs,
                weight: transpose(&w, inputs, outputs),
                bias: vec![0.0; outputs],
            };
            g.push(x, Some(Step::Layer(layer)), vec![outputs])
        }
        "Neg" => {
            let len = sh.iter().product();
            same(
                g,
                Step::Affine {
                    scale: vec![-1.0; len],
                    shift: vec![0.0; len],
                    shape: sh.clone(),
                    node: node.label(),
                },
            )
        }
        "Relu" => same(g, Step::Layer(Layer::Relu)),
        "Sigmoid" => same(g, Step::Layer(Layer::Sigmoid)),
        "Tanh" => same(g, Step::Layer(Layer::Tanh)),
        "LeakyRelu" => {
            let alpha = attr_f(n, "alpha", 0.01);
            if !(0.0..=1.0).contains(&alpha) {
                return Err(node.err(format!(
                    "a slope of {alpha}: only slopes in [0, 1] are supported"
                )));
            }
            let layer = if alpha == 0.0 {
                Layer::Relu
            } else {
                Layer::LeakyRelu { alpha }
            };
            same(g, Step::Layer(layer))
        }
        "Clip" => {
            let bound = |i: usize, name: &str| -> Result<Option<f64>, ModelError> {
                if node.has(i) {
                    let c = node.num(i)?;
                    return Ok(c.data.first().copied());
                }
                Ok(attr(n, name).map(|a| a.f as f64))
            };
            let (lo, hi) = (bound(1, "min")?, bound(2, "max")?);
            let layer = match (lo, hi) {
                (Some(0.0), None) => Layer::Relu,
                (Some(l), Some(h)) if l == 0.0 && h >= f32::MAX as f64 => Layer::Relu,
                (Some(l), Some(h)) if l == 0.0 && h == 6.0 => Layer::Relu6,
                _ => {
                    return Err(node.err(format!(
                        "only Clip(0) (ReLU) and Clip(0, 6) (ReLU6) are supported; this one \
                         clips to [{}, {}]",
                        lo.map_or("-inf".into(), |v| v.to_string()),
                        hi.map_or("inf".into(), |v| v.to_string()),
                    )))
                }
            };
            same(g, Step::Layer(layer))
        }
        "Softmax" | "LogSoftmax" => {
            let a = axis(node, attr_i(n, "axis", -1), sh.len() + 1)?;
            if sh.len() != 1 || a != 1 {
                return Err(node.err(format!(
                    "only a {} over the features of a vector is supported",
                    n.op_type
                )));
            }
            same(
                g,
                Step::Monotone {
                    what: n.op_type.to_lowercase(),
                    node: node.label(),
                },
            )
        }
        "ArgMax" => {
            let a = axis(node, attr_i(n, "axis", 0), sh.len() + 1)?;
            if sh.len() != 1 || a != 1 {
                return Err(
                    node.err("only an argmax over the features of a vector (axis 1) is supported")
                );
            }
            if attr_i(n, "select_last_index", 0) != 0 {
                return Err(node.err("select_last_index = 1 is not supported"));
            }
            g.push(x, Some(Step::Layer(Layer::Argmax)), vec![1])
        }
        "Flatten" => {
            let a = axis(node, attr_i(n, "axis", 1), sh.len() + 1)?;
            if a > 1 && sh[..a - 1].iter().product::<usize>() != 1 {
                return Err(node.err(format!(
                    "a flatten at axis {a} of shape {sh:?} would change the batch axis"
                )));
            }
            g.push(x, None, vec![sh.iter().product()])
        }
        "Reshape" => {
            let target = node.num(1)?.ints()?;
            let full: Vec<usize> = std::iter::once(1).chain(sh.iter().copied()).collect();
            let dims = reshape_dims(node, &full, &target)?;
            g.push(x, None, batchless(node, dims)?)
        }
        "Squeeze" => {
            let axes = shape::ints_arg(node, 1, "axes")?;
            let full: Vec<usize> = std::iter::once(1).chain(sh.iter().copied()).collect();
            let keeps_batch = match &axes {
                Some(a) => a
                    .iter()
                    .all(|v| axis(node, *v, full.len()).is_ok_and(|v| v != 0)),
                None => false,
            };
            if !keeps_batch {
                return Err(node.err("squeezing the batch axis is not supported"));
            }
            let dims = squeeze_dims(node, &full, axes)?;
            g.push(x, None, batchless(node, dims)?)
        }
        "Unsqueeze" => {
            let axes = shape::ints_arg(node, 1, "axes")?.ok_or_else(|| node.err("no axes"))?;
            let full: Vec<usize> = std::iter::once(1).chain(sh.iter().copied()).collect();
            let dims = unsqueeze_dims(node, &full, &axes)?;
            g.push(x, None, batchless(node, dims)?)
        }
        "Transpose" => {
            let full: Vec<usize> = std::iter::once(1).chain(sh.iter().copied()).collect();
            let perm =
                attr_ints(n, "perm").unwrap_or_else(|| (0..full.len() as i64).rev().collect());
            let (dims, map) = shape::transpose_map(node, &full, &perm)?;
            let out = batchless(node, dims)?;
            if map.iter().enumerate().all(|(i, s)| i == *s) {
                g.push(x, None, out)
            } else {
                g.push(
                    x,
                    Some(Step::Permute {
                        perm: map,
                        node: node.label(),
                    }),
                    out,
                )
            }
        }
        "Gather" => {
            let a = axis(node, attr_i(n, "axis", 0), sh.len() + 1)?;
            let idx = node.num(1)?;
            if sh.len() != 1 || a != 1 || idx.dims.len() != 1 {
                return Err(node.err(
                    "only a gather of features (axis 1 of a vector, by a list of indices) \
                     is supported",
                ));
            }
            select(g, node, x, &idx.ints()?)?
        }
        "Conv" => conv(g, node, x, &sh)?,
        "AveragePool" | "MaxPool" => pool(g, node, x, &sh)?,
        "GlobalAveragePool" | "GlobalMaxPool" => {
            let [c, h, w] = chw(node, &sh)?;
            if h != w {
                return Err(node.err(format!(
                    "a global pool over a {h} x {w} map: only square maps are supported"
                )));
            }
            let layer = if n.op_type == "GlobalMaxPool" {
                Layer::MaxPool2d {
                    channels: c,
                    height: h,
                    width: w,
                    kernel: h,
                    stride: h,
                }
            } else {
                Layer::AvgPool2d {
                    channels: c,
                    height: h,
                    width: w,
                    kernel: h,
                    stride: h,
                }
            };
            g.push(x, Some(Step::Layer(layer)), vec![c, 1, 1])
        }
        "BatchNormalization" => batch_norm(g, node, x, &sh)?,
        "Pad" => pad(g, node, x, &sh)?,
        _ => return Err(unsupported(node)),
    };
    Ok(vec![v])
}

/// A shape with its batch axis (of size one) dropped; a reshape to one
/// dimension keeps the values as one vector.
fn batchless(node: &Node, dims: Vec<usize>) -> Result<Vec<usize>, ModelError> {
    match dims.as_slice() {
        [n] => Ok(vec![*n]),
        [1, rest @ ..] => Ok(rest.to_vec()),
        _ => Err(node.err(format!(
            "the result {dims:?} would change the batch axis (of size 1)"
        ))),
    }
}

/// The length of a vector activation (Gemm and MatMul take vectors).
fn vector_len(node: &Node, sh: &[usize]) -> Result<usize, ModelError> {
    match sh {
        [n] => Ok(*n),
        _ => Err(node.err(format!(
            "expects a vector, gets shape {sh:?}; flatten it first"
        ))),
    }
}

/// A `channels x height x width` shape.
fn chw(node: &Node, sh: &[usize]) -> Result<[usize; 3], ModelError> {
    match sh {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(node.err(format!(
            "expects a channels x height x width input, gets shape {sh:?}"
        ))),
    }
}

/// Transposes a row-major `rows x cols` matrix.
pub(super) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

fn gemm(g: &mut Graph, node: &Node, x: usize) -> Result<Value, ModelError> {
    let n = node.n;
    if attr_i(n, "transA", 0) != 0 {
        return Err(node.err("transA = 1 is not supported"));
    }
    let inputs_have = vector_len(node, g.shape(x))?;
    let b = node.num(1)?;
    if b.dims.len() != 2 {
        return Err(node.err(format!("the weight must be a matrix, not {:?}", b.dims)));
    }
    let trans_b = attr_i(n, "transB", 0) != 0;
    let (outputs, inputs) = if trans_b {
        (b.dims[0], b.dims[1])
    } else {
        (b.dims[1], b.dims[0])
    };
    if inputs != inputs_have {
        return Err(node.err(format!("expects {inputs} inputs, gets {inputs_have}")));
    }
    let (alpha, beta) = (attr_f(n, "alpha", 1.0), attr_f(n, "beta", 1.0));
    let w = b.weights()?;
    let mut weight = if trans_b {
        w
    } else {
        transpose(&w, inputs, outputs)
    };
    if alpha != 1.0 {
        weight.iter_mut().for_each(|v| *v *= alpha);
    }
    let bias = if node.has(2) {
        let c = node.num(2)?;
        c.weights()?;
        expand(c, &[1, outputs])
            .map_err(|_| {
                node.err(format!(
                    "the bias {:?} does not fit {outputs} outputs",
                    c.dims
                ))
            })?
            .into_iter()
            .map(|v| (v * beta as f64) as f32)
            .collect()
    } else {
        vec![0.0; outputs]
    };
    let layer = Layer::Dense {
        inputs,
        outputs,
        weight,
        bias,
    };
    Ok(g.push(x, Some(Step::Layer(layer)), vec![outputs]))
}

/// `Add`, `Sub`, `Mul`, `Div` of the activation and a constant: an affine
/// step (folded later).
fn elementwise(g: &mut Graph, node: &Node) -> Result<Value, ModelError> {
    let (x, c, act_first) =
        match (node.value(0), node.value(1)) {
            (Some(Value::Act(x)), Some(Value::Const(_))) => (*x, node.num(1)?, true),
            (Some(Value::Const(_)), Some(Value::Act(x))) => (*x, node.num(0)?, false),
            _ => return Err(node.err(
                "only one operand may depend on the model's input; the other must be a constant",
            )),
        };
    let sh = g.shape(x).to_vec();
    let full: Vec<usize> = std::iter::once(1).chain(sh.iter().copied()).collect();
    if broadcast_dims(&full, &c.dims).as_deref() != Some(&full[..]) {
        return Err(node.err(format!(
            "the constant {:?} of shape {:?} does not broadcast to the activation's {full:?}",
            c.name, c.dims
        )));
    }
    c.finite()?;
    let v = expand(c, &full)?;
    let len = v.len();
    let (scale, shift) = match (node.n.op_type.as_str(), act_first) {
        ("Add", _) => (vec![1.0; len], v),
        ("Sub", true) => (vec![1.0; len], v.iter().map(|c| -c).collect()),
        ("Sub", false) => (vec![-1.0; len], v),
        ("Mul", _) => (v, vec![0.0; len]),
        ("Div", true) => {
            if v.contains(&0.0) {
                return Err(node.err(format!("division by zero in tensor {:?}", c.name)));
            }
            (v.iter().map(|c| 1.0 / c).collect(), vec![0.0; len])
        }
        _ => return Err(node.err("a constant divided by the activation is not supported")),
    };
    Ok(g.push(
        x,
        Some(Step::Affine {
            scale,
            shift,
            shape: sh.clone(),
            node: node.label(),
        }),
        sh,
    ))
}

/// Keeps the features at `idx` (in that order).
pub(super) fn select(
    g: &mut Graph,
    node: &Node,
    x: usize,
    idx: &[i64],
) -> Result<Value, ModelError> {
    let len = vector_len(node, g.shape(x))?;
    let perm: Vec<usize> = idx
        .iter()
        .map(|i| {
            let j = if *i < 0 { i + len as i64 } else { *i };
            usize::try_from(j)
                .ok()
                .filter(|j| *j < len)
                .ok_or_else(|| node.err(format!("feature index {i} is out of range 0..{len}")))
        })
        .collect::<Result<_, _>>()?;
    if perm.is_empty() {
        return Err(node.err("selects no features"));
    }
    let k = perm.len();
    Ok(g.push(
        x,
        Some(Step::Permute {
            perm,
            node: node.label(),
        }),
        vec![k],
    ))
}

fn conv(g: &mut Graph, node: &Node, x: usize, sh: &[usize]) -> Result<Value, ModelError> {
    let n = node.n;
    let [c, h, w] = chw(node, sh)?;
    let wt = node.num(1)?;
    if wt.dims.len() != 4 || wt.dims[1] != c {
        return Err(node.err(format!(
            "weight shape {:?} does not fit {c} input channels (2-D convolutions only)",
            wt.dims
        )));
    }
    if attr_i(n, "group", 1) != 1 {
        return Err(node.err("grouped convolutions are not supported"));
    }
    if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|v| *v != 1)) {
        return Err(node.err("dilated convolutions are not supported"));
    }
    let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
    if strides.len() != 2 || strides[0] != strides[1] || strides[0] < 1 {
        return Err(node.err("only equal positive strides are supported"));
    }
    let (kh, kw) = (wt.dims[2], wt.dims[3]);
    let padding = match attr_s(n, "auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") => {
            let pads = attr_ints(n, "pads").unwrap_or(vec![0, 0, 0, 0]);
            if pads.len() != 4 || pads.iter().any(|p| *p != pads[0] || *p < 0) {
                return Err(node.err(format!(
                    "only equal, symmetric padding is supported (pads {pads:?})"
                )));
            }
            pads[0] as usize
        }
        Some("VALID") => 0,
        Some("SAME_UPPER") | Some("SAME_LOWER") if strides[0] == 1 && kh == kw && kh % 2 == 1 => {
            (kh - 1) / 2
        }
        Some(other) => {
            return Err(node.err(format!(
                "auto_pad {other} is supported only with stride 1 and an odd square kernel"
            )))
        }
    };
    if padding > 64 || strides[0] > 64 {
        return Err(node.err(format!(
            "padding {padding} or stride {} is larger than supported (64)",
            strides[0]
        )));
    }
    let out_channels = wt.dims[0];
    let bias = if node.has(2) {
        let b = node.num(2)?;
        if b.data.len() != out_channels {
            return Err(node.err(format!(
                "the bias has {} values for {out_channels} channels",
                b.data.len()
            )));
        }
        b.weights()?
    } else {
        vec![0.0; out_channels]
    };
    let layer = Layer::Conv2d {
        in_channels: c,
        out_channels,
        height: h,
        width: w,
        kernel: [kh, kw],
        stride: strides[0] as usize,
        padding,
        weight: wt.weights()?,
        bias,
    };
    let s = strides[0] as usize;
    if h + 2 * padding < kh || w + 2 * padding < kw {
        return Err(node.err(format!(
            "a {kh} x {kw} kernel is larger than its {h} x {w} input"
        )));
    }
    let out = [
        out_channels,
        (h + 2 * padding - kh) / s + 1,
        (w + 2 * padding - kw) / s + 1,
    ];
    Ok(g.push(x, Some(Step::Layer(layer)), out.to_vec()))
}

fn pool(g: &mut Graph, node: &Node, x: usize, sh: &[usize]) -> Result<Value, ModelError> {
    let n = node.n;
    let [c, h, w] = chw(node, sh)?;
    let k = attr_ints(n, "kernel_shape").unwrap_or_default();
    let s = attr_ints(n, "strides").unwrap_or(k.clone());
    if k.len() != 2 || k[0] != k[1] || k[0] < 1 || s.len() != 2 || s[0] != s[1] || s[0] < 1 {
        return Err(node.err("only square windows and equal strides are supported"));
    }
    if attr_ints(n, "pads").is_some_and(|p| p.iter().any(|v| *v != 0))
        || attr_s(n, "auto_pad").is_some_and(|a| a.starts_with("SAME"))
    {
        return Err(node.err("padded pooling is not supported"));
    }
    if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|v| *v != 1))
        || attr_i(n, "ceil_mode", 0) != 0
    {
        return Err(node.err("dilated or ceil-mode pooling is not supported"));
    }
    if n.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(node.err("max pooling indices are not supported"));
    }
    let (kernel, stride) = (k[0] as usize, s[0] as usize);
    if kernel > h || kernel > w {
        return Err(node.err(format!(
            "a {kernel} x {kernel} window is larger than its {h} x {w} input"
        )));
    }
    let layer = if n.op_type == "MaxPool" {
        Layer::MaxPool2d {
            channels: c,
            height: h,
            width: w,
            kernel,
            stride,
        }
    } else {
        Layer::AvgPool2d {
            channels: c,
            height: h,
            width: w,
            kernel,
            stride,
        }
    };
    let out = vec![c, (h - kernel) / stride + 1, (w - kernel) / stride + 1];
    Ok(g.push(x, Some(Step::Layer(layer)), out))
}

/// Batch normalization (inference form): a per-channel affine step,
/// `y = (x - mean) / sqrt(var + eps) * scale + B`.
fn batch_norm(g: &mut Graph, node: &Node, x: usize, sh: &[usize]) -> Result<Value, ModelError> {
    let n = node.n;
    if attr_i(n, "training_mode", 0) != 0 || n.output.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(node.err("training-mode batch normalization is not supported"));
    }
    let channels = *sh.first().ok_or_else(|| node.err("a scalar input"))?;
    let eps = attr_f(n, "epsilon", 1e-5) as f64;
    let mut parts = Vec::with_capacity(4);
    for (i, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")] {
        let c = node.num(i)?;
        if c.data.len() != channels {
            return Err(node.err(format!(
                "the {what} {:?} has {} values for {channels} channels",
                c.name,
                c.data.len()
            )));
        }
        c.weights()?;
        parts.push(c);
    }
    let var = parts[3];
    if let Some(v) = var.data.iter().find(|v| **v <= 0.0) {
        return Err(ModelError::Variance {
            tensor: var.name.clone(),
            node: node.label(),
            value: *v,
        });
    }
    let per = sh.iter().skip(1).product::<usize>();
    let mut scale = Vec::with_capacity(channels * per);
    let mut shift = Vec::with_capacity(channels * per);
    for ch in 0..channels {
        let s = parts[0].data[ch] / (var.data[ch] + eps).sqrt();
        let t = parts[1].data[ch] - parts[2].data[ch] * s;
        if !s.is_finite() || !t.is_finite() {
            return Err(ModelError::NotFinite {
                what: format!("the batch normalization of {}", node.label()),
            });
        }
        scale.extend(std::iter::repeat_n(s, per));
        shift.extend(std::iter::repeat_n(t, per));
    }
    Ok(g.push(
        x,
        Some(Step::Affine {
            scale,
            shift,
            shape: sh.to_vec(),
            node: node.label(),
        }),
        sh.to_vec(),
    ))
}

/// Zero padding of the height and width, equal on every side (folded into
/// the next convolution).
fn pad(g: &mut Graph, node: &Node, x: usize, sh: &[usize]) -> Result<Value, ModelError> {
    let n = node.n;
    let [c, h, w] = chw(node, sh)?;
    let mode = attr_s(n, "mode").unwrap_or_else(|| "constant".into());
    if mode != "constant" {
        return Err(node.err(format!("{mode} padding is not supported, only zeros")));
    }
    let pads = shape::ints_arg(node, 1, "pads")?.ok_or_else(|| node.err("no pads"))?;
    let value = if node.has(2) {
        node.num(2)?.data.first().copied().unwrap_or(0.0)
    } else {
        attr_f(n, "value", 0.0) as f64
    };
    if node.has(3) {
        return Err(node.err("Pad with explicit axes is not supported"));
    }
    let p = pads.get(2).copied().unwrap_or(-1);
    let ok = pads.len() == 8
        && pads[0] == 0
        && pads[1] == 0
        && pads[4] == 0
        && pads[5] == 0
        && [pads[2], pads[3], pads[6], pads[7]].iter().all(|v| *v == p)
        && p >= 0;
    if !ok || value != 0.0 {
        return Err(node.err(format!(
            "only zero padding equal on every side of the height and width is supported \
             (pads {pads:?}, value {value})"
        )));
    }
    let p = p as usize;
    if p > 64 {
        return Err(node.err(format!("padding of {p} is too large")));
    }
    Ok(g.push(
        x,
        Some(Step::Pad {
            pad: p,
            node: node.label(),
        }),
        vec![c, h + 2 * p, w + 2 * p],
    ))
}

/// `Concat` of the activation with itself: the two-class probabilities a
/// binary classifier's sigmoid head writes, `[1 - sigmoid(z), sigmoid(z)]`,
/// whose argmax is that of `[-z, z]`.
fn concat(g: &mut Graph, node: &Node) -> Result<Value, ModelError> {
    let refuse = || {
        node.err(
            "only the two-class probabilities [1 - sigmoid(z), sigmoid(z)] of a binary \
             classifier are supported as a concatenation of the activation",
        )
    };
    if node.arity() != 2 {
        return Err(refuse());
    }
    let (a, b) = (
        node.act(0).map_err(|_| refuse())?,
        node.act(1).map_err(|_| refuse())?,
    );
    let complement = matches!(
        g.step(a),
        Some(Step::Affine { scale, shift, .. }) if scale == &[-1.0] && shift == &[1.0]
    ) && g.syms[a].parent == Some(b);
    let sigmoid = matches!(g.step(b), Some(Step::Layer(Layer::Sigmoid))) && g.shape(b) == [1];
    let z = g.syms[b]
        .parent
        .filter(|_| complement && sigmoid)
        .ok_or_else(refuse)?;
    let two = g.push(
        z,
        Some(Step::Layer(Layer::Dense {
            inputs: 1,
            outputs: 2,
            weight: vec![-1.0, 1.0],
            bias: vec![0.0, 0.0],
        })),
        vec![2],
    );
    let Value::Act(two) = two else {
        return Err(refuse());
    };
    Ok(g.push(
        two,
        Some(Step::Monotone {
            what: "two-class sigmoid probability head".into(),
            node: node.label(),
        }),
        vec![2],
    ))
}
