//! Where a layer's deltas go on the way back: the index maps the native
//! trainer and the step circuit share, so both sum the same products.
//!
//! A convolution's (or dense layer's) delta reaches its input through the
//! transposed convolution: the gradient at input channel `c`, location
//! `(y, x)` is `sum_o sum_(p, t) delta[o, p] W[o, c, t]` over the output
//! positions `p` whose window covers `(y, x)` at tap `t`. The `(p, t)` pairs
//! depend on the location only, not on the channel, so the step circuit
//! computes one location's gradients for several channels at once, with the
//! deltas as the shared operand. A dense layer is the case of one location,
//! one tap and one position: the gradient at input `j` is `sum_o delta_o
//! W_oj`.
//!
//! A pooling layer (windows that tile its input, stride equal to the window)
//! sends each window's delta back to the inputs of that window: all of them,
//! divided by the window's size, for average pooling; the first maximum only
//! for max pooling, as the forward pass chose it.

use crate::infer::{argmax, QLayer};

/// The transposed-convolution map of a convolution or dense layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputTaps {
    /// Input channels (a dense layer's inputs).
    pub channels: usize,
    /// Kernel taps per channel (1 for a dense layer).
    pub taps: usize,
    /// Output positions (1 for a dense layer).
    pub positions: usize,
    /// For each input location (`y * width + x`; one for a dense layer), the
    /// `(position, tap)` pairs whose products reach it.
    pub lists: Vec<Vec<(usize, usize)>>,
}

impl InputTaps {
    /// The map of `layer`, or `None` for a layer without weights.
    pub fn of(layer: &QLayer) -> Option<Self> {
        match layer {
            QLayer::Dense { inputs, .. } => Some(Self {
                channels: *inputs,
                taps: 1,
                positions: 1,
                lists: vec![vec![(0, 0)]],
            }),
            QLayer::Conv2d {
                in_channels,
                height,
                width,
                kernel,
                ..
            } => {
                let taps = kernel[0] * kernel[1];
                let fields = layer.receptive_fields();
                let mut lists = vec![Vec::new(); height * width];
                for (p, f) in fields.iter().enumerate() {
                    // The first channel's taps: input index = location.
                    for (t, i) in f.iter().take(taps).enumerate() {
                        if let Some(loc) = i {
                            lists[*loc].push((p, t));
                        }
                    }
                }
                Some(Self {
                    channels: *in_channels,
                    taps,
                    positions: fields.len(),
                    lists,
                })
            }
            _ => None,
        }
    }

    /// The number of input locations.
    pub fn locations(&self) -> usize {
        self.lists.len()
    }

    /// The weight column of input channel `c` at tap `t`.
    pub fn column(&self, c: usize, t: usize) -> usize {
        c * self.taps + t
    }

    /// The gradient at every input (channel-major, `c * locations + loc`),
    /// before its rescale: `deltas` are the layer's output deltas
    /// (`o * positions + p`), `w` its weights (`outputs x columns`).
    pub fn gradient(&self, deltas: &[i64], w: &[i64], outputs: usize) -> Vec<i128> {
        let cols = self.channels * self.taps + 1;
        let mut g = vec![0i128; self.channels * self.locations()];
        for (loc, list) in self.lists.iter().enumerate() {
            for c in 0..self.channels {
                let mut acc = 0i128;
                for o in 0..outputs {
                    for (p, t) in list {
                        acc += deltas[o * self.positions + p] as i128
                            * w[o * cols + self.column(c, *t)] as i128;
                    }
                }
                g[c * self.locations() + loc] = acc;
            }
        }
        g
    }
}

/// For each input of a pooling layer whose windows tile its input, its
/// window and its index within the window (`None` outside every window).
pub fn pool_windows(layer: &QLayer) -> Vec<Option<(usize, usize)>> {
    let mut out = vec![None; layer.input_len()];
    if matches!(layer, QLayer::AvgPool2d { .. } | QLayer::MaxPool2d { .. }) {
        for (p, f) in layer.receptive_fields().iter().enumerate() {
            for (k, i) in f.iter().enumerate() {
                if let Some(i) = i {
                    out[*i] = Some((p, k));
                }
            }
        }
    }
    out
}

/// The index within each window of a max pool's first maximum, from the
/// pool's input `x`: the input its delta goes back to.
pub fn max_pool_choices(layer: &QLayer, x: &[i64]) -> Vec<usize> {
    layer
        .receptive_fields()
        .iter()
        .map(|f| {
            let window: Vec<i64> = f.iter().flatten().map(|i| x[*i]).collect();
            argmax(&window) as usize
        })
        .collect()
}

/// The gradient at every input of a pooling layer, before its rescale:
/// its window's delta (average pooling), or that delta at the window's first
/// maximum and zero elsewhere (max pooling, `x` the pool's input).
pub fn pool_gradient(layer: &QLayer, deltas: &[i64], x: &[i64]) -> Vec<i128> {
    let max = matches!(layer, QLayer::MaxPool2d { .. });
    let choices = if max {
        max_pool_choices(layer, x)
    } else {
        Vec::new()
    };
    pool_windows(layer)
        .iter()
        .map(|w| match w {
            Some((p, k)) if !max || choices[*p] == *k => deltas[*p] as i128,
            _ => 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gathered gradient equals the scatter of every forward product:
    /// `g[field(p)[k]] += delta[o, p] W[o, k]`.
    #[test]
    fn the_gather_equals_the_scatter_of_the_forward_products() {
        for (h, k, s, pad, cin) in [(5, 3, 1, 1, 2), (6, 2, 2, 0, 1), (8, 4, 2, 1, 3)] {
            let layer = QLayer::Conv2d {
                in_channels: cin,
                out_channels: 2,
                height: h,
                width: h,
                kernel: [k, k],
                stride: s,
                padding: pad,
                activation: None,
            };
            let taps = InputTaps::of(&layer).unwrap();
            let fields = layer.receptive_fields();
            let (rows, cols) = layer.weight_shape().unwrap();
            let w: Vec<i64> = (0..rows * cols).map(|i| (i as i64 * 7) % 11 - 5).collect();
            let d: Vec<i64> = (0..rows * fields.len())
                .map(|i| (i as i64 * 5) % 13 - 6)
                .collect();
            let mut scatter = vec![0i128; layer.input_len()];
            for (p, f) in fields.iter().enumerate() {
                for o in 0..rows {
                    for (k, i) in f.iter().enumerate() {
                        if let Some(i) = i {
                            scatter[*i] +=
                                d[o * fields.len() + p] as i128 * w[o * cols + k] as i128;
                        }
                    }
                }
            }
            assert_eq!(taps.gradient(&d, &w, rows), scatter, "{h} {k} {s} {pad}");
        }
        let dense = QLayer::Dense {
            inputs: 3,
            outputs: 2,
            activation: None,
        };
        let w = [1, 2, 3, 9, 4, 5, 6, 9];
        assert_eq!(
            InputTaps::of(&dense).unwrap().gradient(&[10, 100], &w, 2),
            vec![410, 520, 630]
        );
    }

    #[test]
    fn pools_send_deltas_to_their_windows() {
        let pool = |max: bool| {
            let (channels, height, width, kernel, stride) = (1, 2, 4, 2, 2);
            if max {
                QLayer::MaxPool2d {
                    channels,
                    height,
                    width,
                    kernel,
                    stride,
                }
            } else {
                QLayer::AvgPool2d {
                    channels,
                    height,
                    width,
                    kernel,
                    stride,
                }
            }
        };
        // Two 2x2 windows: inputs 0, 1, 4, 5 and 2, 3, 6, 7.
        let x = [1, 5, 7, 7, 5, 0, 7, 2];
        assert_eq!(
            pool_gradient(&pool(false), &[10, 20], &x),
            vec![10, 10, 20, 20, 10, 10, 20, 20]
        );
        // The first maxima: input 1 (tied with input 4), input 2 (of three 7s).
        assert_eq!(
            pool_gradient(&pool(true), &[10, 20], &x),
            vec![0, 10, 20, 0, 0, 0, 0, 0]
        );
    }
}
