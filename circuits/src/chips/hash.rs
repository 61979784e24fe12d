//! Poseidon hashing of any number of field elements, natively and in circuit.
//!
//! Both sides use `P128Pow5T3` (width 3, rate 2) with `ConstantLength<L>`
//! domains, which put the input length into the capacity, so inputs of
//! different lengths never share a permutation. Up to [`DIRECT`] elements are
//! hashed directly; longer inputs are split into chunks of `DIRECT`, each chunk
//! hashed, and the chunk digests hashed again together with the input length.
//! [`hash_native`] and [`HashChip::hash`] agree on every input (tested).

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error};

use crate::Fp;

/// The hashing configuration: the permutation chip's lanes and the sponge's
/// addition gate.
#[derive(Clone, Debug)]
pub struct HashConfig {
    /// The permutation lanes and their shared schedule.
    pub poseidon: PoseidonConfig,
    /// Additions and constants for the sponges.
    pub absorb: AbsorbConfig,
}

/// Permutations assigned per lane during one synthesis, and whether the
/// shared schedule has been assigned (after which no permutation may follow).
#[derive(Debug, Default)]
pub struct HashUsage {
    /// Permutations per lane.
    pub permutations: Vec<usize>,
    /// Whether [`HashChip::finish`] has run.
    pub finished: bool,
}

/// The usage shared by every chip of one synthesis.
pub type SharedHashUsage = Arc<Mutex<HashUsage>>;

/// The most elements hashed in one sponge; longer inputs are chunked.
pub const DIRECT: usize = 8;

mod absorb;
mod chip;
mod permutation;
mod sponge;

pub use absorb::AbsorbConfig;
pub use chip::{PoseidonConfig, PoseidonLane, ROWS as PERMUTATION_ROWS};
pub use sponge::{sponge_native, SPONGE_CAPACITY};

use permutation::{permute, permute_lanes};
use std::sync::{Arc, Mutex};

use ff::PrimeField;

#[cfg(test)]
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

/// Poseidon in circuit over zkpot's permutation chip
/// ([`PoseidonConfig`]).
#[derive(Clone, Debug)]
pub struct HashChip {
    config: HashConfig,
    usage: SharedHashUsage,
}

impl HashConfig {
    /// Configures `lanes` permutation lanes and the sponge's addition gate on
    /// three existing advice columns (equality is enabled on them).
    ///
    /// Side effects: see [`PoseidonConfig::configure`] and
    /// [`AbsorbConfig::configure`].
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        lanes: usize,
        absorb: [Column<Advice>; 3],
    ) -> Self {
        Self {
            poseidon: PoseidonConfig::configure(meta, lanes),
            absorb: AbsorbConfig::configure(meta, absorb),
        }
    }
}

impl HashChip {
    /// Builds the chip over a configuration and the usage of this synthesis;
    /// each permutation goes to the least-used lane (a choice that depends
    /// on input lengths only, never on values).
    pub fn new(config: HashConfig, usage: SharedHashUsage) -> Self {
        Self { config, usage }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashUsage> {
        match self.usage.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn take_lane(&self) -> Result<usize, Error> {
        let mut usage = self.lock();
        if usage.finished {
            return Err(Error::Synthesis);
        }
        let lanes = self.config.poseidon.lanes.len();
        usage.permutations.resize(lanes, 0);
        let lane = (0..lanes)
            .min_by_key(|i| usage.permutations[*i])
            .ok_or(Error::Synthesis)?;
        usage.permutations[lane] += 1;
        Ok(lane)
    }

    /// One permutation of `state` in circuit (the state is copied in).
    pub fn permute(
        &self,
        layouter: &mut impl Layouter<Fp>,
        state: [&AssignedCell<Fp, Fp>; 3],
    ) -> Result<[AssignedCell<Fp, Fp>; 3], Error> {
        let lane = self.take_lane()?;
        self.config.poseidon.assign(layouter, lane, Some(state))
    }

    /// Pads every lane to the busiest lane's permutation count and assigns
    /// the shared round schedule; every circuit that hashes calls this once,
    /// after its last hash (later hashes are refused). Without it no
    /// permutation would be constrained.
    pub fn finish(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        let (slots, pad): (usize, Vec<usize>) = {
            let mut usage = self.lock();
            if usage.finished {
                return Ok(());
            }
            usage.finished = true;
            let lanes = self.config.poseidon.lanes.len();
            usage.permutations.resize(lanes, 0);
            let slots = usage.permutations.iter().copied().max().unwrap_or(0);
            let pad = usage.permutations.iter().map(|n| slots - n).collect();
            (slots, pad)
        };
        let mut padding = layouter.namespace(|| "poseidon padding");
        for (lane, n) in pad.iter().enumerate() {
            for _ in 0..*n {
                self.config.poseidon.assign(&mut padding, lane, None)?;
            }
        }
        drop(padding);
        self.config.poseidon.assign_schedule(layouter, slots)
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
        if inputs.len() <= DIRECT {
            return self.hash_direct(layouter, inputs);
        }
        let mut digests = Vec::with_capacity(inputs.len() / DIRECT + 2);
        for chunk in inputs.chunks(DIRECT) {
            digests.push(self.hash(layouter, chunk)?);
        }
        let len = self
            .config
            .absorb
            .constants(layouter, &[Fp::from(inputs.len() as u64)])?;
        digests.extend(len);
        self.hash(layouter, &digests)
    }

    /// The `ConstantLength` sponge of up to [`DIRECT`] cells: the first pair
    /// with the capacity `len * 2^64` is one bare permutation, each later
    /// pair is added to the rate words before the next.
    fn hash_direct(
        &self,
        layouter: &mut impl Layouter<Fp>,
        inputs: &[AssignedCell<Fp, Fp>],
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        let absorb = &self.config.absorb;
        let consts = absorb.constants(
            layouter,
            &[Fp::from_u128((inputs.len() as u128) << 64), Fp::from(0)],
        )?;
        let [capacity, zero] = [&consts[0], &consts[1]];
        let first = &inputs[0];
        let second = inputs.get(1).unwrap_or(zero);
        let mut state = self.permute(layouter, [first, second, capacity])?;
        for pair in inputs[2.min(inputs.len())..].chunks(2) {
            let s0 = absorb.add(layouter, &state[0], &pair[0])?;
            let s1 = match pair.get(1) {
                Some(x) => absorb.add(layouter, &state[1], x)?,
                None => state[1].clone(),
            };
            state = self.permute(layouter, [&s0, &s1, &state[2]])?;
        }
        let [digest, _, _] = state;
        Ok(digest)
    }
}

impl HashChip {
    /// The capacity word of a two-element hash: the `ConstantLength<2>`
    /// domain's `2 * 2^64`.
    pub fn pair_capacity() -> Fp {
        Fp::from_u128(2u128 << 64)
    }

    /// `hash([left, right])` as one bare permutation of
    /// `[left, right, capacity]` (the `ConstantLength<2>` sponge: zero rate
    /// words plus the inputs, one permutation, output the first word).
    /// `capacity` must be a cell constrained to [`Self::pair_capacity`]
    /// (a constant); the permutation's region copies all three cells in.
    pub fn hash_pair(
        &self,
        layouter: &mut impl Layouter<Fp>,
        left: &AssignedCell<Fp, Fp>,
        right: &AssignedCell<Fp, Fp>,
        capacity: &AssignedCell<Fp, Fp>,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        let [first, _, _] = self.permute(
            &mut layouter.namespace(|| "poseidon pair"),
            [left, right, capacity],
        )?;
        Ok(first)
    }

    /// Cells holding `values`, each constrained to its constant (in the
    /// sponge's constant column).
    pub fn constants(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Fp],
    ) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
        self.config.absorb.constants(layouter, values)
    }
}

#[cfg(test)]
mod tests {
    use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
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

#[cfg(test)]
pub(crate) mod tampering;
