//! ONNX import: the graphs exporters write become the float [`Model`].
//!
//! The protobuf is decoded with `tract-onnx`; the graph is then evaluated
//! symbolically, node by node in file order. A value is a constant (folded
//! here: shape arithmetic such as PyTorch's `x.view(x.size(0), -1)`,
//! `Constant` nodes, casts), or the activation: the chain of steps applied to
//! the model's one input so far. Each node's outputs are computed from its
//! inputs; a node that cannot be imported poisons its outputs with the
//! reason, which is reported only if the output that is proven depends on
//! it (so an unused probability branch with a `ZipMap` does not stop the
//! label output from importing). The chain of the chosen output is then
//! folded into layers the circuits prove ([`fold`]): batch normalization
//! and constant affine ops into the neighbouring dense or convolution
//! layer, a leading normalization kept as public input preprocessing,
//! softmax-like heads proven as their argmax.
//!
//! Every shape, attribute and size is checked, so a malformed or adversarial
//! file gets an error naming the operator and node, never a panic.

mod fold;
mod ml;
mod ops;
mod shape;
mod tensor;

use std::collections::HashMap;

use tract_onnx::pb::{self, type_proto, NodeProto};
use tract_onnx::prelude::Framework;

use super::ir::{Layer, Model, MAX_ELEMENTS};
use super::ModelError;
use tensor::{read_tensor, Constant};

/// One step of the activation's chain.
#[derive(Clone, Debug)]
enum Step {
    /// A layer as the IR has it.
    Layer(Layer),
    /// `y = x * scale + shift`, element by element of the flat activation
    /// (channel-major), from a constant elementwise op, a batch
    /// normalization or a scaler.
    Affine {
        /// Multipliers.
        scale: Vec<f64>,
        /// Offsets.
        shift: Vec<f64>,
        /// The shape it applies to (without the batch axis).
        shape: Vec<usize>,
        /// The node, for messages.
        node: String,
    },
    /// A map that keeps the order of the values (softmax, log-softmax, a
    /// normalizer, a classifier's post-transform): an argmax after it is the
    /// argmax before it.
    Monotone {
        /// What it is, for the report.
        what: String,
        /// The node, for messages.
        node: String,
    },
    /// `y[j] = x[perm[j]]` (a transpose, folded into the next dense layer).
    Permute {
        /// Source index of each output value.
        perm: Vec<usize>,
        /// The node, for messages.
        node: String,
    },
    /// Zero padding of a `channels x height x width` activation by `pad`
    /// rows and columns on every side (folded into the next convolution).
    Pad {
        /// Padding on each side.
        pad: usize,
        /// The node, for messages.
        node: String,
    },
}

/// A symbolic activation: its parent, the step from it, its shape (without
/// the batch axis) and class labels once a label lookup maps it.
#[derive(Clone, Debug)]
struct Sym {
    parent: Option<usize>,
    step: Option<Step>,
    shape: Vec<usize>,
    labels: Option<Vec<String>>,
}

/// A value of the graph.
#[derive(Clone, Debug)]
enum Value {
    /// A constant.
    Const(Constant),
    /// The activation (an index into the arena).
    Act(usize),
    /// A value that could not be imported, and why.
    Poison(ModelError),
}

/// The arena of symbolic activations.
struct Graph {
    syms: Vec<Sym>,
}

impl Graph {
    /// A new activation `step` away from `parent`, with `shape`.
    fn push(&mut self, parent: usize, step: Option<Step>, shape: Vec<usize>) -> Value {
        let labels = self.syms[parent].labels.clone();
        self.syms.push(Sym {
            parent: Some(parent),
            step,
            shape,
            labels,
        });
        Value::Act(self.syms.len() - 1)
    }

    fn shape(&self, id: usize) -> &[usize] {
        &self.syms[id].shape
    }

    /// The step that produced `id`, if any.
    fn step(&self, id: usize) -> Option<&Step> {
        self.syms[id].step.as_ref()
    }

    /// The steps from the input to `id`, in order, with the shape each one
    /// starts from.
    fn chain(&self, mut id: usize) -> Vec<(Step, Vec<usize>)> {
        let mut out = Vec::new();
        while let Some(p) = self.syms[id].parent {
            if let Some(s) = &self.syms[id].step {
                out.push((s.clone(), self.syms[p].shape.clone()));
            }
            id = p;
        }
        out.reverse();
        out
    }

    /// Whether the chain to `id` ends in an argmax (ignoring shape-only
    /// steps): the output is a class index.
    fn is_class(&self, mut id: usize) -> bool {
        loop {
            match &self.syms[id].step {
                Some(Step::Layer(Layer::Argmax)) => return true,
                Some(_) => return false,
                None => match self.syms[id].parent {
                    Some(p) => id = p,
                    None => return false,
                },
            }
        }
    }
}

/// How a node is named in messages: `node "name"`, or by index with its
/// inputs and outputs when it has no name.
fn describe(n: &NodeProto, index: usize) -> String {
    if n.name.is_empty() {
        format!(
            "node #{index} (inputs {:?} -> outputs {:?})",
            n.input, n.output
        )
    } else {
        format!("node {:?}", n.name)
    }
}

/// A node's operator with its domain when it is not the default one.
fn op_name(n: &NodeProto) -> String {
    if n.domain.is_empty() || n.domain == "ai.onnx" {
        n.op_type.clone()
    } else {
        format!("{}:{}", n.domain, n.op_type)
    }
}

/// The context an operator sees: the node, its place and its inputs.
struct Node<'a> {
    /// The node.
    pub n: &'a NodeProto,
    /// Its index in the graph.
    pub index: usize,
    inputs: Vec<Option<Value>>,
}

impl Node<'_> {
    /// An error about this node.
    pub fn err(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Node {
            op: op_name(self.n),
            node: describe(self.n, self.index),
            reason: reason.into(),
        }
    }

    /// The node's name for steps' messages.
    pub fn label(&self) -> String {
        describe(self.n, self.index)
    }

    fn input(&self, i: usize) -> Option<&Value> {
        self.inputs.get(i).and_then(|v| v.as_ref())
    }

    /// Whether input `i` is given (ONNX marks a skipped optional input with
    /// an empty name).
    pub fn has(&self, i: usize) -> bool {
        self.input(i).is_some()
    }

    /// Input `i` as the activation.
    pub fn act(&self, i: usize) -> Result<usize, ModelError> {
        match self.input(i) {
            Some(Value::Act(id)) => Ok(*id),
            Some(Value::Const(_)) => Err(self.err(format!("input {i} must not be a constant"))),
            _ => Err(self.err(format!("input {i} is missing"))),
        }
    }

    /// Input `i` as a numeric constant.
    pub fn num(&self, i: usize) -> Result<&tensor::Const, ModelError> {
        match self.input(i) {
            Some(Value::Const(Constant::Numbers(c))) => Ok(c),
            Some(Value::Const(Constant::Strings(_))) => {
                Err(self.err(format!("input {i} must be numeric, not strings")))
            }
            Some(Value::Act(_)) => Err(self.err(format!(
                "input {i} must be a constant (an initializer or Constant node); \
                 only one input may depend on the model's input"
            ))),
            _ => Err(self.err(format!("input {i} is missing"))),
        }
    }

    /// Input `i`, whatever it is.
    fn value(&self, i: usize) -> Option<&Value> {
        self.input(i)
    }

    /// How many inputs the node lists.
    pub fn arity(&self) -> usize {
        self.inputs.len()
    }
}

/// Loads an ONNX model from bytes.
pub fn load_onnx(bytes: &[u8]) -> Result<Model, ModelError> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Onnx(e.to_string()))?;
    from_proto(&proto)
}

/// The model's input: the first graph input that is not an initializer,
/// and its shape without the batch axis.
fn graph_input(
    g: &pb::GraphProto,
    values: &HashMap<String, Value>,
) -> Result<(String, Vec<usize>), ModelError> {
    let inputs: Vec<&pb::ValueInfoProto> = g
        .input
        .iter()
        .filter(|i| !values.contains_key(&i.name))
        .collect();
    let input = match inputs.as_slice() {
        [one] => *one,
        [] => return Err(ModelError::Shape("the graph has no input".into())),
        many => {
            return Err(ModelError::Shape(format!(
                "the graph has {} inputs ({:?}); a model with one input is supported",
                many.len(),
                many.iter().map(|i| i.name.as_str()).collect::<Vec<_>>()
            )))
        }
    };
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t,
        _ => {
            return Err(ModelError::Shape(format!(
                "input {:?} is not a tensor",
                input.name
            )))
        }
    };
    if !tensor::is_float(tensor.elem_type) {
        return Err(ModelError::DataType {
            tensor: input.name.clone(),
            data_type: tensor::dtype_name(tensor.elem_type),
            reason: "the model's input must be a float tensor".into(),
        });
    }
    let dims: Vec<usize> = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if *v > 0 => {
                        usize::try_from(*v).unwrap_or(usize::MAX)
                    }
                    // A symbolic batch axis counts as one.
                    _ => 1,
                })
                .collect()
        })
        .unwrap_or_default();
    // Drop the batch axis.
    let shape: Vec<usize> = if dims.len() > 1 {
        dims[1..].to_vec()
    } else {
        dims
    };
    let n = shape
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .unwrap_or(usize::MAX);
    if shape.is_empty() || n == 0 || n > MAX_ELEMENTS {
        return Err(ModelError::Shape(format!(
            "input {:?} has an unsupported shape {shape:?}",
            input.name
        )));
    }
    Ok((input.name.clone(), shape))
}

fn from_proto(proto: &pb::ModelProto) -> Result<Model, ModelError> {
    let g = proto
        .graph
        .as_ref()
        .ok_or_else(|| ModelError::Onnx("the model has no graph".into()))?;
    let mut values: HashMap<String, Value> = HashMap::new();
    for t in &g.initializer {
        // An unreadable initializer poisons only what uses it.
        let v = match read_tensor(t) {
            Ok(c) => Value::Const(c),
            Err(e) => Value::Poison(e),
        };
        values.insert(t.name.clone(), v);
    }
    let (input_name, shape) = graph_input(g, &values)?;
    let mut graph = Graph {
        syms: vec![Sym {
            parent: None,
            step: None,
            shape: shape.clone(),
            labels: None,
        }],
    };
    values.insert(input_name, Value::Act(0));
    for (index, n) in g.node.iter().enumerate() {
        let mut inputs = Vec::with_capacity(n.input.len());
        let mut poison = None;
        for name in &n.input {
            if name.is_empty() {
                inputs.push(None);
                continue;
            }
            match values.get(name) {
                Some(Value::Poison(e)) => {
                    poison.get_or_insert_with(|| e.clone());
                    inputs.push(None);
                }
                Some(v) => inputs.push(Some(v.clone())),
                None => {
                    poison.get_or_insert_with(|| ModelError::Node {
                        op: op_name(n),
                        node: describe(n, index),
                        reason: format!(
                            "input {name:?} is not produced by any earlier node, initializer \
                             or graph input (a missing initializer, or nodes out of order or \
                             in a cycle)"
                        ),
                    });
                    inputs.push(None);
                }
            }
        }
        let outputs = match poison {
            Some(e) => Err(e),
            None => {
                let node = Node { n, index, inputs };
                ops::apply(&mut graph, &node)
            }
        };
        match outputs {
            Ok(vals) => {
                for (name, v) in n.output.iter().zip(vals) {
                    if !name.is_empty() {
                        values.insert(name.clone(), v);
                    }
                }
                // Outputs the operator does not give (a dropout mask) stay
                // undefined: a node that uses one is refused.
            }
            Err(e) => {
                for name in n.output.iter().filter(|o| !o.is_empty()) {
                    values.insert(name.clone(), Value::Poison(e.clone()));
                }
            }
        }
        if graph.syms.len() > 1 << 20 {
            return Err(ModelError::TooLarge {
                what: "node count",
                size: graph.syms.len(),
                limit: 1 << 20,
            });
        }
    }
    let (id, others) = choose_output(g, &values, &graph)?;
    let labels = graph.syms[id].labels.clone();
    let mut model = fold::build(shape.iter().product(), graph.chain(id))?;
    if model.layers.last() == Some(&Layer::Argmax) {
        model.labels = labels;
    }
    for o in others {
        model.notes.push(format!("output {o:?} is not proven"));
    }
    model.validate()?;
    Ok(model)
}

/// The output to prove: a class index when one output is one (a
/// classifier's label), else the first output that depends on the input.
/// Returns its activation and the names of the outputs left out.
fn choose_output(
    g: &pb::GraphProto,
    values: &HashMap<String, Value>,
    graph: &Graph,
) -> Result<(usize, Vec<String>), ModelError> {
    let mut acts = Vec::new();
    let mut first_error = None;
    for o in &g.output {
        match values.get(&o.name) {
            Some(Value::Act(id)) => acts.push((o.name.clone(), *id)),
            Some(Value::Poison(e)) => {
                first_error.get_or_insert_with(|| e.clone());
            }
            _ => {}
        }
    }
    let chosen = acts
        .iter()
        .position(|(_, id)| graph.is_class(*id))
        .or(if acts.is_empty() { None } else { Some(0) });
    match chosen {
        Some(i) => {
            let others = g
                .output
                .iter()
                .map(|o| o.name.clone())
                .filter(|name| *name != acts[i].0)
                .collect();
            Ok((acts[i].1, others))
        }
        None => Err(first_error.unwrap_or_else(|| {
            ModelError::Shape("no output of the graph depends on its input".into())
        })),
    }
}
