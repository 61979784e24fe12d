//! Honest sampling: which rows each step trains on, as a function of public
//! values only (the dataset root, the beacon `beta`, the step index and the row
//! count), so a verifier recomputes every index and a prover cannot pick or
//! order its data.
//!
//! `prf(tag, a, b)` is Blake2b-256 with personalization `zkpot.sample.v1` over
//! `root (32 bytes LE) || beta (32 bytes) || tag || a (u64 LE) || b (u64 LE)`.
//!
//! - [`Sampling::Shuffle`] (default): epoch `e` visits the rows in the order of
//!   a Fisher-Yates shuffle driven by `prf("perm", e, counter)`; step `t` takes
//!   positions `[p*B, (p+1)*B)` of epoch `t / steps_per_epoch` with
//!   `p = t mod steps_per_epoch` and `steps_per_epoch = floor(n / B)`.
//! - [`Sampling::Replacement`]: row `i` of step `t` is a uniform draw from
//!   `prf("row", t, i*2^32 + attempt)`, rejecting the top partial range.
//!
//! Uniform draws below `n` reject values at or above the largest multiple of `n`
//! below `2^64`, so there is no modulo bias.

use serde::{Deserialize, Serialize};

/// How batches are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Without replacement within an epoch (a fresh shuffle per epoch).
    #[default]
    Shuffle,
    /// Independent uniform draws.
    Replacement,
}

fn prf(root: &[u8; 32], beta: &[u8; 32], tag: &[u8], a: u64, b: u64) -> u64 {
    let mut st = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"zkpot.sample.v1\0")
        .to_state();
    st.update(root);
    st.update(beta);
    st.update(tag);
    st.update(&a.to_le_bytes());
    st.update(&b.to_le_bytes());
    let h = st.finalize();
    let mut x = [0u8; 8];
    x.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(x)
}

/// A uniform integer below `n` from a stream of 64-bit values.
fn below(n: u64, mut next: impl FnMut(u64) -> u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n);
    let mut attempt = 0;
    loop {
        let x = next(attempt);
        if x < zone {
            return x % n;
        }
        attempt += 1;
    }
}

/// The rows of one step.
pub struct Sampler {
    root: [u8; 32],
    beta: [u8; 32],
    n_rows: u64,
    batch: usize,
    mode: Sampling,
    cached_epoch: Option<(u64, Vec<u64>)>,
}

impl Sampler {
    /// A sampler over `n_rows` rows (at least `batch` for shuffling).
    pub fn new(root: [u8; 32], beta: [u8; 32], n_rows: u64, batch: usize, mode: Sampling) -> Self {
        Self {
            root,
            beta,
            n_rows,
            batch,
            mode,
            cached_epoch: None,
        }
    }

    /// Steps in one epoch (shuffle mode).
    pub fn steps_per_epoch(&self) -> u64 {
        (self.n_rows / self.batch as u64).max(1)
    }

    fn permutation(&mut self, epoch: u64) -> &[u64] {
        if self.cached_epoch.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let n = self.n_rows;
            let mut perm: Vec<u64> = (0..n).collect();
            let mut counter = 0u64;
            for i in (1..n).rev() {
                let j = below(i + 1, |_| {
                    counter += 1;
                    prf(&self.root, &self.beta, b"perm", epoch, counter)
                });
                perm.swap(i as usize, j as usize);
            }
            self.cached_epoch = Some((epoch, perm));
        }
        self.cached_epoch
            .as_ref()
            .map(|(_, p)| p.as_slice())
            .unwrap_or(&[])
    }

    /// The row indices of step `t`.
    pub fn indices(&mut self, t: u64) -> Vec<u64> {
        match self.mode {
            Sampling::Replacement => (0..self.batch as u64)
                .map(|i| {
                    let (root, beta, n) = (self.root, self.beta, self.n_rows);
                    below(n, |attempt| {
                        prf(&root, &beta, b"row", t, (i << 32) | attempt)
                    })
                })
                .collect(),
            Sampling::Shuffle => {
                let spe = self.steps_per_epoch();
                let (epoch, pos) = (t / spe, (t % spe) as usize);
                let b = self.batch;
                let n = self.n_rows as usize;
                let perm = self.permutation(epoch);
                (0..b).map(|i| perm[(pos * b + i) % n]).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_visits_every_row_once_per_epoch() {
        let mut s = Sampler::new([1; 32], [2; 32], 100, 10, Sampling::Shuffle);
        let mut seen: Vec<u64> = (0..10).flat_map(|t| s.indices(t)).collect();
        seen.sort();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        // The next epoch is another order.
        let first: Vec<u64> = s.indices(0);
        assert_ne!(first, s.indices(10));
    }

    #[test]
    fn indices_depend_on_every_public_value() {
        let idx = |root: u8, beta: u8, t: u64, mode| {
            Sampler::new([root; 32], [beta; 32], 1797, 16, mode).indices(t)
        };
        for mode in [Sampling::Shuffle, Sampling::Replacement] {
            let base = idx(1, 1, 3, mode);
            assert_eq!(base, idx(1, 1, 3, mode));
            assert_ne!(base, idx(2, 1, 3, mode));
            assert_ne!(base, idx(1, 2, 3, mode));
            assert_ne!(base, idx(1, 1, 4, mode));
            assert!(base.iter().all(|i| *i < 1797));
        }
    }
}
