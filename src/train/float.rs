//! A float (f64) trainer with the same architecture, initialization, learning
//! rate and batches as the fixed-point one. It exists only to report how far
//! the proven fixed-point run drifts from exact arithmetic.

use zkpot_circuits::infer::QLayer;
use zkpot_circuits::train::{Loss, MlpParams, TrainSpec};

/// Float parameters: per convolution or dense layer `outputs x (fan_in +
/// 1)`, bias last, with the model's layers.
#[derive(Clone, Debug)]
pub struct FloatMlp {
    weights: Vec<Vec<f64>>,
    layers: Vec<QLayer>,
    loss: Loss,
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The first index of the largest value.
fn first_max(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// One row's forward pass: each layer's input and pre-activation.
struct Trace {
    inputs: Vec<Vec<f64>>,
    pres: Vec<Vec<f64>>,
}

impl FloatMlp {
    /// The float image of fixed-point parameters.
    pub fn from_fixed(spec: &TrainSpec, params: &MlpParams) -> Self {
        let s = spec.formats.weight.scale();
        Self {
            weights: params
                .layers
                .iter()
                .map(|l| l.iter().map(|w| *w as f64 / s).collect())
                .collect(),
            layers: spec.layer_list(),
            loss: spec.loss,
        }
    }

    /// Each layer's weight matrix index, for layers that have one.
    fn weight_index(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        self.layers
            .iter()
            .map(|l| {
                l.weight_shape().map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    }

    fn forward(&self, x: &[f64]) -> Trace {
        let mut t = Trace {
            inputs: Vec::new(),
            pres: Vec::new(),
        };
        let widx = self.weight_index();
        let mut a = x.to_vec();
        for (l, layer) in self.layers.iter().enumerate() {
            let fields = layer.receptive_fields();
            let pre: Vec<f64> = match layer {
                QLayer::AvgPool2d { .. } => fields
                    .iter()
                    .map(|f| f.iter().flatten().map(|i| a[*i]).sum::<f64>() / f.len() as f64)
                    .collect(),
                QLayer::MaxPool2d { .. } => fields
                    .iter()
                    .map(|f| {
                        f.iter()
                            .flatten()
                            .map(|i| a[*i])
                            .fold(f64::NEG_INFINITY, f64::max)
                    })
                    .collect(),
                _ => {
                    let (rows, cols) = layer.weight_shape().unwrap_or((0, 1));
                    let w = widx[l].map_or(&[][..], |i| &self.weights[i]);
                    let positions = fields.len();
                    let mut y = vec![0.0; rows * positions];
                    for (p, f) in fields.iter().enumerate() {
                        for o in 0..rows {
                            let row = &w[o * cols..(o + 1) * cols];
                            let mut acc = row[cols - 1];
                            for (k, i) in f.iter().enumerate() {
                                if let Some(i) = i {
                                    acc += a[*i] * row[k];
                                }
                            }
                            y[o * positions + p] = acc;
                        }
                    }
                    y
                }
            };
            let out = if layer.activation().is_some() {
                pre.iter().map(|v| v.max(0.0)).collect()
            } else {
                pre.clone()
            };
            t.inputs.push(std::mem::replace(&mut a, out));
            t.pres.push(pre);
        }
        t
    }

    /// The logits of one input.
    pub fn logits(&self, x: &[f64]) -> Vec<f64> {
        self.forward(x).pres.pop().unwrap_or_default()
    }

    /// The predicted class of one input.
    pub fn predict(&self, x: &[f64]) -> usize {
        first_max(&self.logits(x))
    }

    /// The loss averaged over rows: squared error against one-hot targets
    /// (summed over classes), or cross-entropy.
    pub fn loss(&self, xs: &[Vec<f64>], labels: &[usize]) -> f64 {
        let n = xs.len().max(1) as f64;
        xs.iter()
            .zip(labels)
            .map(|(x, y)| row_loss(self.loss, &self.logits(x), *y))
            .sum::<f64>()
            / n
    }

    /// One SGD step with learning rate `lr` on a batch.
    pub fn step(&mut self, lr: f64, xs: &[Vec<f64>], labels: &[usize]) {
        let b = xs.len() as f64;
        let n_layers = self.layers.len();
        let widx = self.weight_index();
        let mut grads: Vec<Vec<f64>> = self.weights.iter().map(|l| vec![0.0; l.len()]).collect();
        for (x, y) in xs.iter().zip(labels) {
            let t = self.forward(x);
            let z = &t.pres[n_layers - 1];
            let onehot = |o: usize| if o == *y { 1.0 } else { 0.0 };
            // The gradient at the last layer's output.
            let mut delta: Vec<f64> = match self.loss {
                Loss::Mse => z
                    .iter()
                    .enumerate()
                    .map(|(o, v)| 2.0 / b * (v - onehot(o)))
                    .collect(),
                Loss::CrossEntropy => softmax(z)
                    .iter()
                    .enumerate()
                    .map(|(o, p)| (p - onehot(o)) / b)
                    .collect(),
            };
            for l in (0..n_layers).rev() {
                let layer = &self.layers[l];
                if layer.activation().is_some() {
                    for (d, pre) in delta.iter_mut().zip(&t.pres[l]) {
                        if *pre < 0.0 {
                            *d = 0.0;
                        }
                    }
                }
                let fields = layer.receptive_fields();
                let input = &t.inputs[l];
                let mut back = vec![0.0; input.len()];
                match layer {
                    QLayer::AvgPool2d { .. } => {
                        for (p, f) in fields.iter().enumerate() {
                            for i in f.iter().flatten() {
                                back[*i] += delta[p] / f.len() as f64;
                            }
                        }
                    }
                    QLayer::MaxPool2d { .. } => {
                        for (p, f) in fields.iter().enumerate() {
                            let idx: Vec<usize> = f.iter().flatten().copied().collect();
                            let vals: Vec<f64> = idx.iter().map(|i| input[*i]).collect();
                            back[idx[first_max(&vals)]] += delta[p];
                        }
                    }
                    _ => {
                        let (rows, cols) = layer.weight_shape().unwrap_or((0, 1));
                        let wi = widx[l].unwrap_or(0);
                        let positions = fields.len();
                        for (p, f) in fields.iter().enumerate() {
                            for o in 0..rows {
                                let d = delta[o * positions + p];
                                grads[wi][o * cols + cols - 1] += d;
                                for (k, i) in f.iter().enumerate() {
                                    if let Some(i) = i {
                                        grads[wi][o * cols + k] += d * input[*i];
                                        back[*i] += d * self.weights[wi][o * cols + k];
                                    }
                                }
                            }
                        }
                    }
                }
                delta = back;
            }
        }
        for (w, g) in self.weights.iter_mut().zip(&grads) {
            for (wi, gi) in w.iter_mut().zip(g) {
                *wi -= lr * gi;
            }
        }
    }
}

/// The loss of one row's logits (real units).
pub fn row_loss(loss: Loss, z: &[f64], label: usize) -> f64 {
    match loss {
        Loss::Mse => z
            .iter()
            .enumerate()
            .map(|(o, v)| (v - if o == label { 1.0 } else { 0.0 }).powi(2))
            .sum(),
        Loss::CrossEntropy => -softmax(z)
            .get(label)
            .copied()
            .unwrap_or(0.0)
            .max(1e-12)
            .ln(),
    }
}
