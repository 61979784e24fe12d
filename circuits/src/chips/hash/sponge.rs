//! The flat sponge that weight and tensor commitments use: one Poseidon
//! (`P128Pow5T3`) sponge in overwrite mode over the whole input, whatever its
//! length.
//!
//! The input is padded to `m || len(m) || 0...` up to a multiple of the rate
//! (injective: `len(m) >= 1` is the last nonzero word). The state starts as
//! `[0, 0, SPONGE_CAPACITY]`; each pair of words overwrites the rate and the
//! state is permuted, `s <- P([x_0, x_1, s_2])`; the digest is the first word
//! of the last state. This is a Merkle-Damgard chain of the compression
//! `(h, x_0, x_1) -> P([x_0, x_1, h])` with a length-strengthened last block,
//! the same bare permutation the Merkle nodes use (and the overwrite mode of
//! Plonky2's Poseidon hashing). [`SPONGE_CAPACITY`] is 1, never the `L * 2^64`
//! of a `ConstantLength` domain, so these digests and [`hash_native`]'s do not
//! share a first permutation.
//!
//! In circuit a block is one bare permutation (37 rows, no addition), and
//! consecutive blocks go to the least-used Poseidon lane with the chaining
//! word copied across, so a long input spreads over every lane.
//!
//! [`hash_native`]: super::hash_native

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

use super::permutation::permute;
use super::HashChip;
use crate::Fp;

/// The sponge's initial capacity word.
pub const SPONGE_CAPACITY: u64 = 1;

/// The padding words after `len` input words: the length, then a zero if
/// needed to fill the last pair.
fn padded(len: usize) -> Vec<Fp> {
    let mut pad = vec![Fp::from(len as u64)];
    if (len + 1) % 2 == 1 {
        pad.push(Fp::from(0));
    }
    pad
}

/// The flat sponge natively.
pub fn sponge_native(inputs: &[Fp]) -> Fp {
    let mut words = inputs.to_vec();
    words.extend(padded(inputs.len()));
    let mut state = [Fp::from(0), Fp::from(0), Fp::from(SPONGE_CAPACITY)];
    for pair in words.chunks(2) {
        state[0] = pair[0];
        state[1] = pair[1];
        permute(&mut state);
    }
    state[0]
}

impl HashChip {
    /// The flat sponge in circuit; equals [`sponge_native`].
    pub fn sponge(
        &self,
        layouter: &mut impl Layouter<Fp>,
        inputs: &[AssignedCell<Fp, Fp>],
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        // The constants: the initial capacity and the padding words.
        let pad = padded(inputs.len());
        let constants: Vec<Fp> = std::iter::once(Fp::from(SPONGE_CAPACITY))
            .chain(pad.iter().copied())
            .collect();
        let constants = self.constants(layouter, &constants)?;
        let (capacity, pad_cells) = constants.split_first().ok_or(Error::Synthesis)?;
        let words: Vec<&AssignedCell<Fp, Fp>> = inputs.iter().chain(pad_cells).collect();
        let mut chain = capacity.clone();
        let mut digest = None;
        for pair in words.chunks(2) {
            let [x0, x1] = [pair[0], pair.get(1).copied().ok_or(Error::Synthesis)?];
            let [out0, _, out2] =
                self.permute(&mut layouter.namespace(|| "sponge block"), [x0, x1, &chain])?;
            chain = out2;
            digest = Some(out0);
        }
        digest.ok_or(Error::Synthesis)
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::Value;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::table::TableSet;
    use crate::chips::test_utils::{mock, Synth};

    #[derive(Clone)]
    struct SpongeOf(Vec<Fp>);

    impl Synth for SpongeOf {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let vals: Vec<_> = self.0.iter().map(|v| Value::known(*v)).collect();
            let cells = cfg.witness(layouter, &vals)?;
            let digest = cfg.hash_chip()?.sponge(layouter, &cells)?;
            cfg.expose(layouter, &digest, 0)
        }
    }

    #[test]
    fn circuit_sponge_equals_native_for_every_parity() {
        for n in [1usize, 2, 3, 4, 9, 20] {
            let inputs: Vec<Fp> = (0..n as u64).map(|i| Fp::from(i * 7 + 3)).collect();
            let digest = sponge_native(&inputs);
            assert_eq!(
                mock(11, SpongeOf(inputs.clone()), vec![digest]),
                Ok(()),
                "{n}"
            );
            assert!(mock(11, SpongeOf(inputs), vec![digest + Fp::from(1)]).is_err());
        }
    }

    #[test]
    fn lengths_and_trailing_zeros_are_told_apart() {
        let a = sponge_native(&[Fp::from(5)]);
        let b = sponge_native(&[Fp::from(5), Fp::from(0)]);
        let c = sponge_native(&[Fp::from(5), Fp::from(1)]);
        assert!(a != b && b != c && a != c);
        // Not the ConstantLength hash of the same words.
        assert_ne!(a, super::super::hash_native(&[Fp::from(5)]));
        // Order matters.
        assert_ne!(
            sponge_native(&[Fp::from(1), Fp::from(2), Fp::from(3)]),
            sponge_native(&[Fp::from(2), Fp::from(1), Fp::from(3)])
        );
    }
}
