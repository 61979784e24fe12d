//! Honest sampling: which rows each step trains on, as a function of public
//! values only (the dataset's public root, the beacon `beta`, the step index
//! and the row count), so a verifier recomputes every index and a prover
//! cannot pick or order its data.
//!
//! `prf(tag, a, b)` is Blake2b-256 with personalization `zkpot.sample.v2`
//! over `root (32 bytes LE) || beta (32 bytes) || tag || a (u64 LE) || b (u64
//! LE)`, its first 8 bytes read as a little-endian `u64`.
//!
//! - [`Sampling::Shuffle`] (default): epoch `e` visits the rows in the order
//!   of a pseudorandom permutation `pi_e` of `[0, n)`; step `t` takes
//!   positions `[p*B, (p+1)*B)` of epoch `t / steps_per_epoch` with `p = t mod
//!   steps_per_epoch` and `steps_per_epoch = floor(n / B)`. `pi_e` is an
//!   8-round Feistel network on `2h` bits, `h = max(1, ceil(bits(n - 1) /
//!   2))`, whose round `r` maps `(L, R)` to `(R, L xor (prf("feistel", e,
//!   r * 2^48 + R) mod 2^h))`, restricted to `[0, n)` by cycle walking
//!   (apply it again until the value is below `n`; fewer than 4 times on
//!   average, since `2^(2h) < 4n`). Each index costs a few hashes and no
//!   memory, whatever the row count.
//! - [`Sampling::Replacement`]: row `i` of step `t` is a uniform draw from
//!   `prf("row", t, i*2^32 + attempt)`, rejecting the top partial range.
//!
//! Uniform draws below `n` reject values at or above the largest multiple of `n`
//! below `2^64`, so there is no modulo bias.

use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::{bound, EnvelopeError, MAX_ROWS};

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
        .personal(b"zkpot.sample.v2\0")
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

/// A uniform integer below `n` (at least 1) from a stream of 64-bit values.
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

/// Feistel rounds of the permutations.
const ROUNDS: u64 = 8;

/// A pseudorandom permutation of `[0, n)` for each key (an epoch): an
/// 8-round Feistel network on `2h` bits keyed by the public values and `tag`,
/// restricted to `[0, n)` by cycle walking (see the module docs).
#[derive(Clone, Debug)]
struct Permutation {
    root: [u8; 32],
    beta: [u8; 32],
    tag: &'static [u8],
    n: u64,
    half_bits: u32,
}

impl Permutation {
    /// A permutation of `[0, n)`, `n` at least 1.
    fn new(root: [u8; 32], beta: [u8; 32], tag: &'static [u8], n: u64) -> Self {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        Self {
            root,
            beta,
            tag,
            n,
            half_bits: bits.div_ceil(2).max(1),
        }
    }

    /// One pass of the Feistel network of key `key` over `2h` bits.
    fn feistel(&self, key: u64, x: u64) -> u64 {
        let h = self.half_bits;
        let mask = (1u64 << h) - 1;
        let (mut l, mut r) = (x >> h, x & mask);
        for round in 0..ROUNDS {
            let f = prf(&self.root, &self.beta, self.tag, key, (round << 48) | r) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << h) | r
    }

    /// The image of `pos` (below `n`) under key `key`'s permutation.
    fn apply(&self, key: u64, pos: u64) -> u64 {
        let mut x = pos;
        loop {
            x = self.feistel(key, x);
            if x < self.n {
                return x;
            }
        }
    }
}

/// The honest split of a dataset into held-out and training rows, a function
/// of public values only: with `pi` the permutation of `[0, n_rows)` tagged
/// `split` (key 0), the `holdout` rows `pi(0) .. pi(holdout - 1)` are held
/// out and training position `q` is row `pi(holdout + q)`. Without held-out
/// rows, training position `q` is row `q`.
#[derive(Clone, Debug)]
pub struct Split {
    holdout: u64,
    perm: Option<Permutation>,
}

impl Split {
    /// The split of `n_rows` rows (at least one, at most [`MAX_ROWS`]) with
    /// `holdout` of them held out (fewer than `n_rows`).
    pub fn new(
        root: [u8; 32],
        beta: [u8; 32],
        n_rows: u64,
        holdout: u64,
    ) -> Result<Self, EnvelopeError> {
        bound(|| "n_rows".into(), n_rows, 1, MAX_ROWS)?;
        bound(|| "held-out rows".into(), holdout, 0, n_rows - 1)?;
        Ok(Self {
            holdout,
            perm: (holdout > 0).then(|| Permutation::new(root, beta, b"split", n_rows)),
        })
    }

    /// The number of held-out rows.
    pub fn holdout(&self) -> u64 {
        self.holdout
    }

    /// The `j`-th held-out row (`j` below [`holdout`](Self::holdout)).
    pub fn held_out(&self, j: u64) -> u64 {
        self.perm.as_ref().map_or(j, |p| p.apply(0, j))
    }

    /// The row at training position `q`.
    pub fn training_row(&self, q: u64) -> u64 {
        self.perm
            .as_ref()
            .map_or(q, |p| p.apply(0, self.holdout + q))
    }
}

/// The rows of one step.
#[derive(Clone, Debug)]
pub struct Sampler {
    root: [u8; 32],
    beta: [u8; 32],
    split: Split,
    train_rows: u64,
    batch: usize,
    mode: Sampling,
    shuffle: Permutation,
}

impl Sampler {
    /// A sampler over the training rows of `n_rows` rows with `holdout` held
    /// out ([`Split`]): at least one training row, at least `batch` for
    /// shuffling, at most [`MAX_ROWS`] rows.
    pub fn new(
        root: [u8; 32],
        beta: [u8; 32],
        n_rows: u64,
        holdout: u64,
        batch: usize,
        mode: Sampling,
    ) -> Result<Self, EnvelopeError> {
        bound(|| "batch".into(), batch as u64, 1, 1 << 20)?;
        let min = match mode {
            Sampling::Shuffle => batch as u64,
            Sampling::Replacement => 1,
        };
        bound(|| "n_rows".into(), n_rows, min, MAX_ROWS)?;
        let split = Split::new(root, beta, n_rows, holdout)?;
        let train_rows = n_rows - holdout;
        bound(
            || "training rows (n_rows - held-out rows)".into(),
            train_rows,
            min,
            MAX_ROWS,
        )?;
        Ok(Self {
            root,
            beta,
            split,
            train_rows,
            batch,
            mode,
            shuffle: Permutation::new(root, beta, b"feistel", train_rows),
        })
    }

    /// The split the sampler draws training rows from.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// Steps in one epoch (shuffle mode).
    pub fn steps_per_epoch(&self) -> u64 {
        (self.train_rows / self.batch as u64).max(1)
    }

    /// The row indices of step `t`.
    pub fn indices(&self, t: u64) -> Vec<u64> {
        let positions: Vec<u64> = match self.mode {
            Sampling::Replacement => (0..self.batch as u64)
                .map(|i| {
                    let (root, beta, n) = (self.root, self.beta, self.train_rows);
                    below(n, |attempt| {
                        prf(&root, &beta, b"row", t, (i << 32) | attempt)
                    })
                })
                .collect(),
            Sampling::Shuffle => {
                let spe = self.steps_per_epoch();
                let (epoch, pos) = (t / spe, t % spe);
                let b = self.batch as u64;
                (0..b)
                    .map(|i| self.shuffle.apply(epoch, pos * b + i))
                    .collect()
            }
        };
        positions
            .into_iter()
            .map(|q| self.split.training_row(q))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_visits_every_row_once_per_epoch() {
        let s = Sampler::new([1; 32], [2; 32], 100, 0, 10, Sampling::Shuffle).unwrap();
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
            Sampler::new([root; 32], [beta; 32], 1797, 0, 16, mode)
                .unwrap()
                .indices(t)
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

    #[test]
    fn every_size_is_a_permutation_without_allocating_per_row() {
        for n in [1u64, 2, 3, 5, 16, 17, 100, 1000] {
            let s = Sampler::new([3; 32], [4; 32], n, 0, 1, Sampling::Shuffle).unwrap();
            let mut seen: Vec<u64> = (0..n).flat_map(|t| s.indices(t)).collect();
            seen.sort();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        // The largest supported dataset: indices in range, each computed alone.
        let s = Sampler::new([5; 32], [6; 32], MAX_ROWS, 0, 16, Sampling::Shuffle).unwrap();
        let idx = s.indices(123_456_789);
        assert_eq!(idx.len(), 16);
        assert!(idx.iter().all(|i| *i < MAX_ROWS));
    }

    #[test]
    fn empty_and_oversized_datasets_are_refused() {
        for (n, batch, mode) in [
            (0u64, 1usize, Sampling::Replacement),
            (0, 4, Sampling::Shuffle),
            (3, 4, Sampling::Shuffle),
            (MAX_ROWS + 1, 4, Sampling::Shuffle),
            (10, 0, Sampling::Replacement),
        ] {
            assert!(
                Sampler::new([0; 32], [0; 32], n, 0, batch, mode).is_err(),
                "{n} {batch}"
            );
        }
        assert!(Sampler::new([0; 32], [0; 32], 3, 0, 4, Sampling::Replacement).is_ok());
    }

    #[test]
    fn training_never_samples_a_held_out_row() {
        for mode in [Sampling::Shuffle, Sampling::Replacement] {
            let s = Sampler::new([7; 32], [8; 32], 150, 30, 4, mode).unwrap();
            let held: Vec<u64> = (0..30).map(|j| s.split().held_out(j)).collect();
            let mut sorted = held.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 30, "distinct held-out rows");
            assert!(held.iter().all(|i| *i < 150));
            assert_ne!(held, (0..30).collect::<Vec<_>>(), "not the first rows");
            let trained: Vec<u64> = (0..200).flat_map(|t| s.indices(t)).collect();
            assert!(trained.iter().all(|i| !held.contains(i) && *i < 150));
            if mode == Sampling::Shuffle {
                // An epoch (30 steps of 4 of the 120 training rows) visits each once.
                let mut epoch: Vec<u64> = (0..30).flat_map(|t| s.indices(t)).collect();
                epoch.sort();
                epoch.dedup();
                assert_eq!(epoch.len(), 120);
            }
        }
        // The split depends on the root and the beacon.
        let a = Split::new([1; 32], [2; 32], 150, 30).unwrap();
        let b = Split::new([1; 32], [3; 32], 150, 30).unwrap();
        assert_ne!(
            (0..30).map(|j| a.held_out(j)).collect::<Vec<_>>(),
            (0..30).map(|j| b.held_out(j)).collect::<Vec<_>>()
        );
        // Every row held out, or too few training rows for a batch, is refused.
        assert!(Split::new([0; 32], [0; 32], 10, 10).is_err());
        assert!(Sampler::new([0; 32], [0; 32], 10, 7, 4, Sampling::Shuffle).is_err());
    }
}
