//! Constant folding: operators whose inputs are all constants (shape
//! arithmetic, `Constant` nodes, casts, arithmetic on initializers) are
//! computed here, so the activation's chain sees only constants.

use super::super::ModelError;
use super::tensor::{
    attr, attr_i, attr_ints, dtype, dtype_name, element_count, is_float, read_tensor, Const,
    Constant,
};
use super::{Node, Value};

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// The shape two shapes broadcast to (NumPy rules).
pub(super) fn broadcast_dims(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                1
            };
            let db = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                1
            };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// The values of `c` broadcast to `out` (which `c.dims` must broadcast to).
pub(super) fn expand(c: &Const, out: &[usize]) -> Result<Vec<f64>, ModelError> {
    let n = element_count(out)?;
    if c.dims.len() > out.len() {
        return Err(ModelError::Shape(format!(
            "tensor {:?} of shape {:?} does not broadcast to {out:?}",
            c.name, c.dims
        )));
    }
    let lead = out.len() - c.dims.len();
    let src = strides(&c.dims);
    let dst = strides(out);
    for (i, d) in c.dims.iter().enumerate() {
        if *d != 1 && *d != out[lead + i] {
            return Err(ModelError::Shape(format!(
                "tensor {:?} of shape {:?} does not broadcast to {out:?}",
                c.name, c.dims
            )));
        }
    }
    Ok((0..n)
        .map(|flat| {
            let mut at = 0;
            for (i, d) in c.dims.iter().enumerate() {
                if *d != 1 {
                    at += (flat / dst[lead + i] % out[lead + i]) * src[i];
                }
            }
            c.data[at]
        })
        .collect())
}

/// An axis attribute or input, resolved against `rank` (negative counts
/// from the end).
pub(super) fn axis(node: &Node, a: i64, rank: usize) -> Result<usize, ModelError> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(node.err(format!("axis {a} is out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

fn ints_const(name: &str, dims: Vec<usize>, v: Vec<i64>) -> Value {
    Value::Const(Constant::Numbers(Const::new(
        name,
        dims,
        v.into_iter().map(|x| x as f64).collect(),
        dtype::INT64,
    )))
}

fn num(name: &str, dims: Vec<usize>, data: Vec<f64>, dt: i32) -> Value {
    Value::Const(Constant::Numbers(Const::new(name, dims, data, dt)))
}

/// A `Constant` node's value.
pub(super) fn constant(node: &Node) -> Result<Vec<Value>, ModelError> {
    let n = node.n;
    let out = n.output.first().cloned().unwrap_or_default();
    if let Some(t) = attr(n, "value").and_then(|a| a.t.as_ref()) {
        let mut c = read_tensor(t)?;
        if let Constant::Numbers(c) = &mut c {
            c.name = out;
        }
        return Ok(vec![Value::Const(c)]);
    }
    if let Some(a) = attr(n, "value_float") {
        return Ok(vec![num(&out, vec![], vec![a.f as f64], dtype::FLOAT)]);
    }
    if let Some(a) = attr(n, "value_floats") {
        let v: Vec<f64> = a.floats.iter().map(|x| *x as f64).collect();
        return Ok(vec![num(&out, vec![v.len()], v, dtype::FLOAT)]);
    }
    if let Some(a) = attr(n, "value_int") {
        return Ok(vec![ints_const(&out, vec![], vec![a.i])]);
    }
    if let Some(a) = attr(n, "value_ints") {
        return Ok(vec![ints_const(&out, vec![a.ints.len()], a.ints.clone())]);
    }
    Err(node.err("only tensor, float and integer constants are supported"))
}

/// Integers from input `i` or, for older opsets, attribute `name`.
pub(super) fn ints_arg(node: &Node, i: usize, name: &str) -> Result<Option<Vec<i64>>, ModelError> {
    if node.has(i) {
        return Ok(Some(node.num(i)?.ints()?));
    }
    Ok(attr_ints(node.n, name))
}

/// Folds an operator whose inputs are all constants; `None` when the
/// operator is not one folded here.
pub(super) fn fold(node: &Node) -> Result<Option<Vec<Value>>, ModelError> {
    let n = node.n;
    let out = n.output.first().cloned().unwrap_or_default();
    if !n.domain.is_empty() && n.domain != "ai.onnx" {
        return Ok(None);
    }
    let v = match n.op_type.as_str() {
        "Identity" => vec![node
            .value(0)
            .cloned()
            .ok_or_else(|| node.err("input 0 is missing"))?],
        "Cast" => {
            let to = attr_i(n, "to", dtype::FLOAT as i64) as i32;
            let c = node.num(0)?;
            let data = if is_float(to) {
                c.data.clone()
            } else if matches!(to, dtype::STRING) {
                return Err(node.err(format!("a cast to {}", dtype_name(to))));
            } else {
                c.data.iter().map(|x| x.trunc()).collect()
            };
            vec![num(&out, c.dims.clone(), data, to)]
        }
        "Shape" => {
            let c = node.num(0)?;
            let dims = slice_shape(node, c.dims.iter().map(|d| *d as i64).collect());
            vec![ints_const(&out, vec![dims.len()], dims)]
        }
        "Size" => vec![ints_const(
            &out,
            vec![],
            vec![node.num(0)?.data.len() as i64],
        )],
        "Gather" => vec![gather(node, &out)?],
        "Unsqueeze" => {
            let c = node.num(0)?;
            let axes = ints_arg(node, 1, "axes")?.ok_or_else(|| node.err("no axes"))?;
            vec![num(
                &out,
                unsqueeze_dims(node, &c.dims, &axes)?,
                c.data.clone(),
                c.dtype,
            )]
        }
        "Squeeze" => {
            let c = node.num(0)?;
            let axes = ints_arg(node, 1, "axes")?;
            vec![num(
                &out,
                squeeze_dims(node, &c.dims, axes)?,
                c.data.clone(),
                c.dtype,
            )]
        }
        "Concat" => vec![concat(node, &out)?],
        "Reshape" => {
            let c = node.num(0)?;
            let target = node.num(1)?.ints()?;
            let dims = reshape_dims(node, &c.dims, &target)?;
            vec![num(&out, dims, c.data.clone(), c.dtype)]
        }
        "Flatten" => {
            let c = node.num(0)?;
            let a = axis(node, attr_i(n, "axis", 1), c.dims.len() + 1)?;
            let outer: usize = c.dims[..a].iter().product();
            vec![num(
                &out,
                vec![outer, c.data.len() / outer.max(1)],
                c.data.clone(),
                c.dtype,
            )]
        }
        "Slice" => vec![slice(node, &out)?],
        "Transpose" => {
            let c = node.num(0)?;
            let perm =
                attr_ints(n, "perm").unwrap_or_else(|| (0..c.dims.len() as i64).rev().collect());
            let (dims, src) = transpose_map(node, &c.dims, &perm)?;
            vec![num(
                &out,
                dims,
                src.iter().map(|s| c.data[*s]).collect(),
                c.dtype,
            )]
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let (a, b) = (node.num(0)?, node.num(1)?);
            let dims = broadcast_dims(&a.dims, &b.dims).ok_or_else(|| {
                node.err(format!(
                    "shapes {:?} and {:?} do not broadcast",
                    a.dims, b.dims
                ))
            })?;
            let (x, y) = (expand(a, &dims)?, expand(b, &dims)?);
            let ints = !is_float(a.dtype);
            let data = x
                .iter()
                .zip(&y)
                .map(|(p, q)| match n.op_type.as_str() {
                    "Add" => p + q,
                    "Sub" => p - q,
                    "Mul" => p * q,
                    _ if ints && *q != 0.0 => (p / q).floor(),
                    _ => p / q,
                })
                .collect();
            vec![num(&out, dims, data, a.dtype)]
        }
        "Neg" => {
            let c = node.num(0)?;
            vec![num(
                &out,
                c.dims.clone(),
                c.data.iter().map(|x| -x).collect(),
                c.dtype,
            )]
        }
        "Sqrt" | "Reciprocal" => {
            let c = node.num(0)?;
            let f = |x: &f64| {
                if n.op_type == "Sqrt" {
                    x.sqrt()
                } else {
                    1.0 / x
                }
            };
            vec![num(
                &out,
                c.dims.clone(),
                c.data.iter().map(f).collect(),
                c.dtype,
            )]
        }
        "ConstantOfShape" => {
            let dims: Vec<usize> = node
                .num(0)?
                .ints()?
                .into_iter()
                .map(|d| usize::try_from(d).map_err(|_| node.err(format!("dimension {d}"))))
                .collect::<Result<_, _>>()?;
            let count = element_count(&dims)?;
            let (value, dt) = match attr(n, "value").and_then(|a| a.t.as_ref()) {
                Some(t) => match read_tensor(t)? {
                    Constant::Numbers(c) if c.data.len() == 1 => (c.data[0], c.dtype),
                    _ => return Err(node.err("the value must be one number")),
                },
                None => (0.0, dtype::FLOAT),
            };
            vec![num(&out, dims, vec![value; count], dt)]
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// `Shape`'s optional `start`/`end` (opset 15).
pub(super) fn slice_shape(node: &Node, dims: Vec<i64>) -> Vec<i64> {
    let r = dims.len() as i64;
    let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
    let start = clamp(attr_i(node.n, "start", 0));
    let end = clamp(attr_i(node.n, "end", r));
    if start < end {
        dims[start..end].to_vec()
    } else {
        vec![]
    }
}

/// The dimensions after `Unsqueeze` by `axes`.
pub(super) fn unsqueeze_dims(
    node: &Node,
    dims: &[usize],
    axes: &[i64],
) -> Result<Vec<usize>, ModelError> {
    let rank = dims.len() + axes.len();
    let mut ax: Vec<usize> = axes
        .iter()
        .map(|a| axis(node, *a, rank))
        .collect::<Result<_, _>>()?;
    ax.sort_unstable();
    ax.dedup();
    if ax.len() != axes.len() {
        return Err(node.err("repeated axes"));
    }
    let mut it = dims.iter();
    Ok((0..rank)
        .map(|i| {
            if ax.contains(&i) {
                1
            } else {
                it.next().copied().unwrap_or(1)
            }
        })
        .collect())
}

/// The dimensions after `Squeeze` by `axes` (every size-one axis when
/// none are given).
pub(super) fn squeeze_dims(
    node: &Node,
    dims: &[usize],
    axes: Option<Vec<i64>>,
) -> Result<Vec<usize>, ModelError> {
    let ax: Vec<usize> = match axes {
        Some(a) => a
            .iter()
            .map(|x| axis(node, *x, dims.len()))
            .collect::<Result<_, _>>()?,
        None => (0..dims.len()).filter(|i| dims[*i] == 1).collect(),
    };
    if let Some(a) = ax.iter().find(|a| dims[**a] != 1) {
        return Err(node.err(format!("axis {a} has size {}, not 1", dims[*a])));
    }
    Ok(dims
        .iter()
        .enumerate()
        .filter(|(i, _)| !ax.contains(i))
        .map(|(_, d)| *d)
        .collect())
}

/// The dimensions a `Reshape` to `target` gives `dims` (0 copies a
/// dimension, -1 is inferred).
pub(super) fn reshape_dims(
    node: &Node,
    dims: &[usize],
    target: &[i64],
) -> Result<Vec<usize>, ModelError> {
    let total: usize = element_count(dims)?;
    let allow_zero = attr_i(node.n, "allowzero", 0) != 0;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, t) in target.iter().enumerate() {
        match *t {
            0 if !allow_zero => out.push(
                *dims
                    .get(i)
                    .ok_or_else(|| node.err(format!("dimension {i} to copy does not exist")))?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d >= 0 => out.push(d as usize),
            d => return Err(node.err(format!("target dimension {d}"))),
        }
    }
    let known = element_count(&out)?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(node.err(format!("cannot reshape {dims:?} to {target:?}")));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(node.err(format!("cannot reshape {dims:?} to {target:?}")));
    }
    Ok(out)
}

/// The dimensions after a transpose by `perm`, and each output element's
/// source index.
pub(super) fn transpose_map(
    node: &Node,
    dims: &[usize],
    perm: &[i64],
) -> Result<(Vec<usize>, Vec<usize>), ModelError> {
    let mut seen = vec![false; dims.len()];
    let p: Vec<usize> = perm
        .iter()
        .map(|a| {
            let a = usize::try_from(*a).ok().filter(|a| *a < dims.len());
            match a {
                Some(a) if !seen[a] => {
                    seen[a] = true;
                    Ok(a)
                }
                _ => Err(node.err(format!(
                    "perm {perm:?} is not a permutation of {} axes",
                    dims.len()
                ))),
            }
        })
        .collect::<Result<_, _>>()?;
    if p.len() != dims.len() {
        return Err(node.err(format!(
            "perm {perm:?} is not a permutation of {} axes",
            dims.len()
        )));
    }
    let out: Vec<usize> = p.iter().map(|a| dims[*a]).collect();
    let n = element_count(&out)?;
    let (src, dst) = (strides(dims), strides(&out));
    let map = (0..n)
        .map(|flat| {
            (0..out.len())
                .map(|i| (flat / dst[i] % out[i]) * src[p[i]])
                .sum()
        })
        .collect();
    Ok((out, map))
}

fn gather(node: &Node, out: &str) -> Result<Value, ModelError> {
    let c = node.num(0)?;
    let idx = node.num(1)?;
    if c.dims.is_empty() {
        return Err(node.err("cannot gather from a scalar"));
    }
    let a = axis(node, attr_i(node.n, "axis", 0), c.dims.len())?;
    let len = c.dims[a] as i64;
    let ids: Vec<usize> = idx
        .ints()?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + len } else { i };
            usize::try_from(j)
                .ok()
                .filter(|j| (*j as i64) < len)
                .ok_or_else(|| node.err(format!("index {i} is out of range 0..{len}")))
        })
        .collect::<Result<_, _>>()?;
    let outer: usize = c.dims[..a].iter().product();
    let inner: usize = c.dims[a + 1..].iter().product();
    let mut data = Vec::new();
    for o in 0..outer {
        for i in &ids {
            let start = (o * c.dims[a] + i) * inner;
            data.extend_from_slice(&c.data[start..start + inner]);
        }
    }
    let mut dims = c.dims[..a].to_vec();
    dims.extend_from_slice(&idx.dims);
    dims.extend_from_slice(&c.dims[a + 1..]);
    element_count(&dims)?;
    Ok(num(out, dims, data, c.dtype))
}

fn concat(node: &Node, out: &str) -> Result<Value, ModelError> {
    let parts: Vec<&Const> = (0..node.arity())
        .filter(|i| node.has(*i))
        .map(|i| node.num(i))
        .collect::<Result<_, _>>()?;
    let first = parts.first().ok_or_else(|| node.err("no inputs"))?;
    let rank = first.dims.len();
    if rank == 0 {
        return Err(node.err("cannot concatenate scalars"));
    }
    let a = axis(node, attr_i(node.n, "axis", 0), rank)?;
    let mut dims = first.dims.clone();
    dims[a] = 0;
    for p in &parts {
        let same = p.dims.len() == rank
            && p.dims
                .iter()
                .enumerate()
                .all(|(i, d)| i == a || *d == first.dims[i]);
        if !same {
            return Err(node.err(format!(
                "shapes {:?} and {:?} do not concatenate on axis {a}",
                first.dims, p.dims
            )));
        }
        dims[a] += p.dims[a];
    }
    element_count(&dims)?;
    let outer: usize = first.dims[..a].iter().product();
    let inner: usize = first.dims[a + 1..].iter().product();
    let mut data = Vec::new();
    for o in 0..outer {
        for p in &parts {
            let chunk = p.dims[a] * inner;
            data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(num(out, dims, data, first.dtype))
}

fn slice(node: &Node, out: &str) -> Result<Value, ModelError> {
    let c = node.num(0)?;
    let starts = ints_arg(node, 1, "starts")?.ok_or_else(|| node.err("no starts"))?;
    let ends = ints_arg(node, 2, "ends")?.ok_or_else(|| node.err("no ends"))?;
    let axes = ints_arg(node, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = ints_arg(node, 4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(node.err("starts, ends, axes and steps differ in length"));
    }
    // Per axis: the kept indices.
    let mut keep: Vec<Vec<usize>> = c.dims.iter().map(|d| (0..*d).collect()).collect();
    for j in 0..starts.len() {
        let a = axis(node, axes[j], c.dims.len())?;
        let d = c.dims[a] as i64;
        let step = steps[j];
        if step == 0 {
            return Err(node.err("a step of zero"));
        }
        let norm = |v: i64, lo: i64, hi: i64| {
            let v = if v < 0 { v.saturating_add(d) } else { v };
            v.clamp(lo, hi)
        };
        let mut idx = Vec::new();
        if step > 0 {
            let (mut i, e) = (norm(starts[j], 0, d), norm(ends[j], 0, d));
            while i < e {
                idx.push(i as usize);
                i += step;
            }
        } else {
            let (mut i, e) = (norm(starts[j], -1, d - 1), norm(ends[j], -1, d - 1));
            while i > e {
                idx.push(i as usize);
                i += step;
            }
        }
        keep[a] = idx;
    }
    let dims: Vec<usize> = keep.iter().map(|k| k.len()).collect();
    let count = element_count(&dims)?;
    let (src, dst) = (strides(&c.dims), strides(&dims));
    let data = (0..count)
        .map(|flat| {
            let at: usize = (0..dims.len())
                .map(|i| keep[i][flat / dst[i] % dims[i]] * src[i])
                .sum();
            c.data[at]
        })
        .collect();
    Ok(num(out, dims, data, c.dtype))
}
