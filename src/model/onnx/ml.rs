//! The `ai.onnx.ml` operators scikit-learn's exports use: `Scaler`,
//! `LinearClassifier`, `LinearRegressor`, `Normalizer` and the label lookup
//! `ArrayFeatureExtractor`.

use super::super::ir::Layer;
use super::super::ModelError;
use super::ops::{select, unsupported};
use super::tensor::{attr_floats, attr_i, attr_ints, attr_s, attr_strings, Constant};
use super::{Graph, Node, Step, Value};

/// Evaluates an `ai.onnx.ml` node that uses the activation.
pub(super) fn apply(g: &mut Graph, node: &Node) -> Result<Vec<Value>, ModelError> {
    let n = node.n;
    match n.op_type.as_str() {
        "Scaler" => {
            let x = node.act(0)?;
            let len = vector(node, g, x)?;
            let spread = |name: &str, default: f32| -> Result<Vec<f64>, ModelError> {
                let v = attr_floats(n, name).unwrap_or_default();
                match v.len() {
                    0 => Ok(vec![default as f64; len]),
                    1 => Ok(vec![v[0] as f64; len]),
                    k if k == len => Ok(v.iter().map(|x| *x as f64).collect()),
                    k => Err(node.err(format!("{k} {name} values for {len} features"))),
                }
            };
            let (offset, scale) = (spread("offset", 0.0)?, spread("scale", 1.0)?);
            if offset.iter().chain(&scale).any(|v| !v.is_finite()) {
                return Err(ModelError::NotFinite {
                    what: format!("the scaler {}", node.label()),
                });
            }
            let shift = offset.iter().zip(&scale).map(|(o, s)| -o * s).collect();
            Ok(vec![g.push(
                x,
                Some(Step::Affine {
                    scale,
                    shift,
                    shape: vec![len],
                    node: node.label(),
                }),
                vec![len],
            )])
        }
        "Normalizer" => {
            let x = node.act(0)?;
            let norm = attr_s(n, "norm").unwrap_or_else(|| "MAX".into());
            let positive = matches!(
                g.step(x),
                Some(Step::Monotone { .. }) | Some(Step::Layer(Layer::Sigmoid))
            );
            if !(norm == "L1" || norm == "L2" || positive) {
                return Err(node.err(format!(
                    "a {norm} normalizer of values that may be negative does not keep their order"
                )));
            }
            let len = vector(node, g, x)?;
            Ok(vec![g.push(
                x,
                Some(Step::Monotone {
                    what: format!("{norm} normalizer"),
                    node: node.label(),
                }),
                vec![len],
            )])
        }
        "LinearClassifier" => linear_classifier(g, node),
        "LinearRegressor" => {
            let x = node.act(0)?;
            let inputs = vector(node, g, x)?;
            if attr_s(n, "post_transform").is_some_and(|p| p != "NONE") {
                return Err(node.err("only post_transform NONE is supported for a regressor"));
            }
            let targets = usize::try_from(attr_i(n, "targets", 1))
                .ok()
                .filter(|t| *t >= 1)
                .ok_or_else(|| node.err("targets must be positive"))?;
            let layer = dense(node, inputs, targets, false)?;
            Ok(vec![g.push(x, Some(Step::Layer(layer)), vec![targets])])
        }
        "ArrayFeatureExtractor" => match (node.value(0), node.value(1)) {
            (Some(Value::Const(classes)), Some(Value::Act(idx))) if g.is_class(*idx) => {
                let labels: Vec<String> = match classes {
                    Constant::Strings(s) => s.clone(),
                    Constant::Numbers(c) => c.data.iter().map(|v| format_label(*v)).collect(),
                };
                let id = *idx;
                let v = g.push(id, None, vec![1]);
                if let Value::Act(new) = v {
                    g.syms[new].labels = Some(labels);
                }
                Ok(vec![v])
            }
            (Some(Value::Act(x)), Some(Value::Const(_))) => {
                let idx = node.num(1)?.ints()?;
                Ok(vec![select(g, node, *x, &idx)?])
            }
            _ => Err(node.err(
                "expects class labels indexed by the argmax, or the features indexed by constants",
            )),
        },
        _ => Err(unsupported(node)),
    }
}

/// A label as text: integers without a fraction.
fn format_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn vector(node: &Node, g: &Graph, x: usize) -> Result<usize, ModelError> {
    match g.shape(x) {
        [n] => Ok(*n),
        other => Err(node.err(format!(
            "expects a vector of features, gets shape {other:?}"
        ))),
    }
}

/// A dense layer from `coefficients` (row-major `outputs x inputs`) and
/// `intercepts`; with `binary`, one row `w` becomes the two rows `-w, w`
/// (the two scores onnxruntime gives a binary classifier).
fn dense(node: &Node, inputs: usize, outputs: usize, binary: bool) -> Result<Layer, ModelError> {
    let n = node.n;
    let coef = attr_floats(n, "coefficients").unwrap_or_default();
    let rows = if binary { 1 } else { outputs };
    if coef.len() != rows * inputs {
        return Err(node.err(format!("{} coefficients for {rows} x {inputs}", coef.len())));
    }
    let mut icpt = attr_floats(n, "intercepts").unwrap_or_default();
    if icpt.is_empty() {
        icpt = vec![0.0; rows];
    }
    if icpt.len() != rows {
        return Err(node.err(format!("{} intercepts for {rows} outputs", icpt.len())));
    }
    if coef.iter().chain(&icpt).any(|v| !v.is_finite()) {
        return Err(ModelError::NotFinite {
            what: format!("the coefficients of {}", node.label()),
        });
    }
    let (weight, bias) = if binary {
        let neg = |v: &Vec<f32>| v.iter().map(|x| -x).collect::<Vec<f32>>();
        ([neg(&coef), coef].concat(), [neg(&icpt), icpt].concat())
    } else {
        (coef, icpt)
    };
    Ok(Layer::Dense {
        inputs,
        outputs,
        weight,
        bias,
    })
}

/// `LinearClassifier`: scores `W x + b`, the label their argmax (mapped to
/// the class labels), probabilities a monotone post-transform of the scores.
fn linear_classifier(g: &mut Graph, node: &Node) -> Result<Vec<Value>, ModelError> {
    let n = node.n;
    let x = node.act(0)?;
    let inputs = vector(node, g, x)?;
    let labels: Vec<String> = match (
        attr_ints(n, "classlabels_ints"),
        attr_strings(n, "classlabels_strings"),
    ) {
        (Some(i), _) if !i.is_empty() => i.iter().map(|v| v.to_string()).collect(),
        (_, Some(s)) if !s.is_empty() => s,
        _ => return Err(node.err("no class labels")),
    };
    let classes = labels.len();
    let coef = attr_floats(n, "coefficients").unwrap_or_default();
    if inputs == 0 || !coef.len().is_multiple_of(inputs) {
        return Err(node.err(format!("{} coefficients for {inputs} features", coef.len())));
    }
    let rows = coef.len() / inputs;
    let binary = match (rows, classes) {
        (r, c) if r == c && c >= 2 => false,
        (1, 2) => true,
        _ => return Err(node.err(format!("{rows} rows of coefficients for {classes} classes"))),
    };
    let post = attr_s(n, "post_transform").unwrap_or_else(|| "NONE".into());
    if !matches!(
        post.as_str(),
        "NONE" | "LOGISTIC" | "SOFTMAX" | "SOFTMAX_ZERO" | "PROBIT"
    ) {
        return Err(node.err(format!("post_transform {post} is not supported")));
    }
    let layer = dense(node, inputs, classes, binary)?;
    let Value::Act(scores) = g.push(x, Some(Step::Layer(layer)), vec![classes]) else {
        return Err(node.err("internal: scores are not an activation"));
    };
    let Value::Act(class) = g.push(scores, Some(Step::Layer(Layer::Argmax)), vec![1]) else {
        return Err(node.err("internal: the class is not an activation"));
    };
    g.syms[class].labels = Some(labels);
    let probabilities = if post == "NONE" {
        Value::Act(scores)
    } else {
        g.push(
            scores,
            Some(Step::Monotone {
                what: format!("{} post-transform", post.to_lowercase()),
                node: node.label(),
            }),
            vec![classes],
        )
    };
    Ok(vec![Value::Act(class), probabilities])
}
