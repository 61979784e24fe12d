//! A float (f64) trainer with the same architecture, initialization, learning
//! rate and batches as the fixed-point one. It exists only to report how far
//! the proven fixed-point run drifts from exact arithmetic.

use zkpot_circuits::train::{Loss, MlpParams, TrainSpec};

/// Float parameters: per layer `outputs x (inputs + 1)`, bias last.
#[derive(Clone, Debug)]
pub struct FloatMlp {
    layers: Vec<Vec<f64>>,
    widths: Vec<usize>,
    loss: Loss,
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

impl FloatMlp {
    /// The float image of fixed-point parameters.
    pub fn from_fixed(spec: &TrainSpec, params: &MlpParams) -> Self {
        let s = spec.formats.weight.scale();
        Self {
            layers: params
                .layers
                .iter()
                .map(|l| l.iter().map(|w| *w as f64 / s).collect())
                .collect(),
            widths: spec.widths.clone(),
            loss: spec.loss,
        }
    }

    fn forward(&self, x: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut inputs = Vec::new();
        let mut pres = Vec::new();
        let mut a = x.to_vec();
        let n_layers = self.layers.len();
        for (l, w) in self.layers.iter().enumerate() {
            a.push(1.0);
            let n_in = a.len();
            let pre: Vec<f64> = (0..self.widths[l + 1])
                .map(|o| (0..n_in).map(|i| a[i] * w[o * n_in + i]).sum())
                .collect();
            inputs.push(a);
            a = if l + 1 < n_layers {
                pre.iter().map(|v| v.max(0.0)).collect()
            } else {
                pre.clone()
            };
            pres.push(pre);
        }
        (inputs, pres)
    }

    /// The logits of one input.
    pub fn logits(&self, x: &[f64]) -> Vec<f64> {
        self.forward(x).1.pop().unwrap_or_default()
    }

    /// The predicted class of one input.
    pub fn predict(&self, x: &[f64]) -> usize {
        let z = self.logits(x);
        let mut best = 0;
        for (i, v) in z.iter().enumerate() {
            if *v > z[best] {
                best = i;
            }
        }
        best
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
        let mut grads: Vec<Vec<f64>> = self.layers.iter().map(|l| vec![0.0; l.len()]).collect();
        for (x, y) in xs.iter().zip(labels) {
            let (inputs, pres) = self.forward(x);
            let z = &pres[n_layers - 1];
            let onehot = |o: usize| if o == *y { 1.0 } else { 0.0 };
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
                let n_in = inputs[l].len();
                for (o, d) in delta.iter().enumerate() {
                    for i in 0..n_in {
                        grads[l][o * n_in + i] += d * inputs[l][i];
                    }
                }
                if l > 0 {
                    let w = &self.layers[l];
                    delta = (0..self.widths[l])
                        .map(|j| {
                            let s: f64 = delta
                                .iter()
                                .enumerate()
                                .map(|(o, d)| d * w[o * n_in + j])
                                .sum();
                            if pres[l - 1][j] >= 0.0 {
                                s
                            } else {
                                0.0
                            }
                        })
                        .collect();
                }
            }
        }
        for (w, g) in self.layers.iter_mut().zip(&grads) {
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
