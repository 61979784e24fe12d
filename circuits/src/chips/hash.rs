//! Poseidon hashing of any number of field elements, natively and in circuit.
//!
//! Both sides use `P128Pow5T3` (width 3, rate 2) with `ConstantLength<L>`
//! domains, which put the input length into the capacity, so inputs of
//! different lengths never share a permutation. Up to [`DIRECT`] elements are
//! hashed directly; longer inputs are split into chunks of `DIRECT`, each chunk
//! hashed, and the chunk digests hashed again together with the input length.
//! [`hash_native`] and [`HashChip::hash`] agree on every input (tested).

use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
use halo2_gadgets::poseidon::{Hash, PoseidonInstructions, Pow5Chip, Pow5Config};
use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error};

use super::lookup::chip::LaneUsage;
use crate::Fp;

/// The Poseidon configuration zkpot uses (width 3, rate 2), with one of its
/// state columns kept for assigning constants next to it.
#[derive(Clone, Debug)]
pub struct HashConfig {
    /// The `Pow5Chip` configuration.
    pub pow5: Pow5Config<Fp, 3, 2>,
    /// The first state column.
    pub state0: Column<Advice>,
}

/// The most elements hashed in one sponge; longer inputs are chunked.
pub const DIRECT: usize = 8;

mod permutation;
mod sponge;

pub use sponge::{sponge_native, SPONGE_CAPACITY};

use permutation::{permute, permute_lanes};
use std::sync::{Arc, Mutex};

use ff::PrimeField;

macro_rules! dispatch_len {
    ($len:expr, $f:ident, $($arg:expr),*) => {
        match $len {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*),
            _ => $f::<8>($($arg),*),
        }
    };
}

/// The `ConstantLength` sponge: capacity `len * 2^64`, inputs absorbed two at a
/// time with zero padding, one permutation per pair, output the first word.
fn sponge(inputs: &[Fp]) -> Fp {
    let mut state = [
        Fp::from(0),
        Fp::from(0),
        Fp::from_u128((inputs.len() as u128) << 64),
    ];
    for pair in inputs.chunks(2) {
        state[0] += pair[0];
        if let Some(second) = pair.get(1) {
            state[1] += second;
        }
        permute(&mut state);
    }
    state[0]
}

/// Hashes each of `inputs` natively: equal to [`hash_native`] on each, faster
/// on runs of four inputs of one length (up to [`DIRECT`] elements), which
/// are hashed in lockstep.
pub fn hash_native_many(inputs: &[&[Fp]]) -> Vec<Fp> {
    const LANES: usize = 4;
    let mut out = Vec::with_capacity(inputs.len());
    for group in inputs.chunks(LANES) {
        let len = group[0].len();
        let uniform = group.len() == LANES
            && (1..=DIRECT).contains(&len)
            && group.iter().all(|g| g.len() == len);
        if !uniform {
            out.extend(group.iter().map(|g| hash_native(g)));
            continue;
        }
        let cap = Fp::from_u128((len as u128) << 64);
        let mut states = [[Fp::from(0), Fp::from(0), cap]; LANES];
        for start in (0..len).step_by(2) {
            for (s, g) in states.iter_mut().zip(group) {
                s[0] += g[start];
                if let Some(second) = g.get(start + 1) {
                    s[1] += second;
                }
            }
            permute_lanes(&mut states);
        }
        out.extend(states.iter().map(|s| s[0]));
    }
    out
}

/// Hashes `inputs` (at least one element) natively.
pub fn hash_native(inputs: &[Fp]) -> Fp {
    if inputs.is_empty() {
        return sponge(&[Fp::from(0)]);
    }
    if inputs.len() <= DIRECT {
        return sponge(inputs);
    }
    let mut digests: Vec<Fp> = inputs.chunks(DIRECT).map(hash_native).collect();
    digests.push(Fp::from(inputs.len() as u64));
    hash_native(&digests)
}

/// Poseidon in circuit over a `Pow5Chip`.
#[derive(Clone, Debug)]
pub struct HashChip {
    lanes: Vec<HashConfig>,
    usage: LaneUsage,
}

impl HashChip {
    /// Configures Poseidon on the given state columns and partial S-box column.
    ///
    /// Side effects: six fixed columns for round constants, equality on the
    /// state columns, and the `Pow5Chip` gates (degree 6: circuits that hash
    /// have an extended domain of 8n).
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        state: [Column<Advice>; 3],
        partial_sbox: Column<Advice>,
    ) -> HashConfig {
        let rc_a = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        let rc_b = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        HashConfig {
            pow5: Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b),
            state0: state[0],
        }
    }

    /// Builds the chip from one configuration.
    pub fn construct(config: HashConfig) -> Self {
        Self::with_lanes(vec![config], Arc::new(Mutex::new(vec![0])))
    }

    /// Builds the chip over several Poseidon lanes laid out side by side; each
    /// hash goes to the least-used lane (a choice that depends on input lengths
    /// only, never on values).
    pub fn with_lanes(lanes: Vec<HashConfig>, usage: LaneUsage) -> Self {
        Self { lanes, usage }
    }

    fn take_lane(&self, permutations: usize) -> &HashConfig {
        let mut usage = match self.usage.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        };
        usage.resize(self.lanes.len(), 0);
        let lane = (0..self.lanes.len()).min_by_key(|i| usage[*i]).unwrap_or(0);
        usage[lane] += permutations;
        &self.lanes[lane]
    }

    /// Hashes `inputs` (at least one cell) in circuit; equals [`hash_native`].
    pub fn hash(
        &self,
        layouter: &mut impl Layouter<Fp>,
        inputs: &[AssignedCell<Fp, Fp>],
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        if inputs.is_empty() {
            return Err(Error::Synthesis);
        }
        if self.lanes.is_empty() {
            return Err(Error::Synthesis);
        }
        if inputs.len() <= DIRECT {
            let lane = self.take_lane(inputs.len().div_ceil(2));
            return dispatch_len!(inputs.len(), hash_fixed, &lane.pow5, layouter, inputs);
        }
        let mut digests = Vec::with_capacity(inputs.len() / DIRECT + 2);
        for chunk in inputs.chunks(DIRECT) {
            digests.push(self.hash(layouter, chunk)?);
        }
        let len = layouter.assign_region(
            || "hash length",
            |mut region| {
                region.assign_advice_from_constant(
                    || "len",
                    self.lanes[0].state0,
                    0,
                    Fp::from(inputs.len() as u64),
                )
            },
        )?;
        digests.push(len);
        self.hash(layouter, &digests)
    }
}

impl HashChip {
    /// The capacity word of a two-element hash: the `ConstantLength<2>`
    /// domain's `2 * 2^64`.
    pub fn pair_capacity() -> Fp {
        Fp::from_u128(2u128 << 64)
    }

    /// `hash([left, right])` as one bare permutation of
    /// `[left, right, capacity]`: the `ConstantLength<2>` sponge (zero rate
    /// words plus the inputs, then one permutation, output the first word)
    /// without its separate initial-state and absorb rows, 37 rows instead of
    /// 41. `capacity` must be a cell constrained to [`Self::pair_capacity`]
    /// (a constant); the permutation's region copies all three cells in.
    pub fn hash_pair(
        &self,
        layouter: &mut impl Layouter<Fp>,
        left: &AssignedCell<Fp, Fp>,
        right: &AssignedCell<Fp, Fp>,
        capacity: &AssignedCell<Fp, Fp>,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        if self.lanes.is_empty() {
            return Err(Error::Synthesis);
        }
        let chip = Pow5Chip::construct(self.take_lane(1).pow5.clone());
        let state = [
            left.clone().into(),
            right.clone().into(),
            capacity.clone().into(),
        ];
        let [first, _, _] =
            <Pow5Chip<Fp, 3, 2> as PoseidonInstructions<Fp, P128Pow5T3, 3, 2>>::permute(
                &chip,
                &mut layouter.namespace(|| "poseidon pair"),
                &state,
            )?;
        Ok(first.into())
    }
}

fn hash_fixed<const L: usize>(
    config: &Pow5Config<Fp, 3, 2>,
    layouter: &mut impl Layouter<Fp>,
    inputs: &[AssignedCell<Fp, Fp>],
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let message: [AssignedCell<Fp, Fp>; L] = inputs[..L]
        .to_vec()
        .try_into()
        .map_err(|_| Error::Synthesis)?;
    let chip = Pow5Chip::construct(config.clone());
    let hasher = Hash::<_, _, P128Pow5T3, ConstantLength<L>, 3, 2>::init(
        chip,
        layouter.namespace(|| "poseidon init"),
    )?;
    hasher.hash(layouter.namespace(|| "poseidon"), message)
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::table::TableSet;
    use crate::chips::test_utils::{assert_copy_fails, mock, Synth};

    #[derive(Clone)]
    struct HashOf(Vec<Fp>);

    impl Synth for HashOf {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let vals: Vec<_> = self.0.iter().map(|v| Value::known(*v)).collect();
            let cells = cfg.witness(layouter, &vals)?;
            let digest = cfg.hash_chip()?.hash(layouter, &cells)?;
            cfg.expose(layouter, &digest, 0)
        }
    }

    /// `hash_pair` with a capacity cell holding `cap`.
    #[derive(Clone)]
    struct PairOf(Fp, Fp, Fp);

    impl Synth for PairOf {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let vals = [self.0, self.1, self.2].map(Value::known);
            let cells = cfg.witness(layouter, &vals)?;
            let digest = cfg
                .hash_chip()?
                .hash_pair(layouter, &cells[0], &cells[1], &cells[2])?;
            cfg.expose(layouter, &digest, 0)
        }
    }

    #[test]
    fn bare_pair_permutation_is_the_two_element_hash() {
        let (l, r) = (Fp::from(11), Fp::from(12));
        let want = hash_native(&[l, r]);
        let cap = HashChip::pair_capacity();
        assert_eq!(mock(8, PairOf(l, r, cap), vec![want]), Ok(()));
        // Another capacity (domain) gives another digest.
        assert_copy_fails(mock(8, PairOf(l, r, cap + Fp::from(1)), vec![want]));
        // So does swapping the inputs.
        assert_copy_fails(mock(8, PairOf(r, l, cap), vec![want]));
    }

    #[test]
    fn native_and_circuit_agree_on_every_length() {
        for len in [1usize, 2, 3, 7, 8, 9, 17, 20] {
            let input: Vec<Fp> = (0..len as u64).map(|i| Fp::from(i * 1000 + 7)).collect();
            let want = hash_native(&input);
            assert_eq!(
                mock(11, HashOf(input.clone()), vec![want]),
                Ok(()),
                "len {len}"
            );
            // A different digest is refused.
            assert_copy_fails(mock(11, HashOf(input), vec![want + Fp::from(1)]));
        }
    }

    fn reference<const L: usize>(inputs: &[Fp]) -> Fp {
        let mut arr = [Fp::from(0); L];
        arr.copy_from_slice(&inputs[..L]);
        halo2_gadgets::poseidon::primitives::Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::init()
            .hash(arr)
    }

    #[test]
    fn fast_permutation_matches_the_reference_sponge() {
        let mut x = Fp::from(7);
        for len in 1..=DIRECT {
            for round in 0..20u64 {
                let input: Vec<Fp> = (0..len as u64)
                    .map(|i| {
                        x = x.square() + Fp::from(i + round);
                        x
                    })
                    .collect();
                assert_eq!(hash_native(&input), dispatch_len!(len, reference, &input));
            }
        }
    }

    #[test]
    fn many_equals_one_at_a_time() {
        let data: Vec<Fp> = (0..40u64).map(|i| Fp::from(i * 7 + 1).square()).collect();
        // Uniform groups of each length, then a ragged mix and a long input.
        for len in 1..=DIRECT {
            let inputs: Vec<&[Fp]> = (0..9).map(|i| &data[i..i + len]).collect();
            let want: Vec<Fp> = inputs.iter().map(|x| hash_native(x)).collect();
            assert_eq!(hash_native_many(&inputs), want, "len {len}");
        }
        let ragged: Vec<&[Fp]> = vec![&data[..2], &data[..3], &data[..2], &data[..2], &data[..20]];
        let want: Vec<Fp> = ragged.iter().map(|x| hash_native(x)).collect();
        assert_eq!(hash_native_many(&ragged), want);
        assert!(hash_native_many(&[]).is_empty());
    }

    #[test]
    fn lengths_are_domain_separated() {
        let a = hash_native(&[Fp::from(1), Fp::from(0)]);
        let b = hash_native(&[Fp::from(1)]);
        let c = hash_native(&[Fp::from(1), Fp::from(0), Fp::from(0)]);
        assert!(a != b && b != c && a != c);
    }
}
