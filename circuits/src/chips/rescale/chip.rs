//! The chip behind [`RescaleInstructions`](super::RescaleInstructions).

use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Value};
use halo2_proofs::plonk::Error;

use super::{rescale_lookups, RescaleInstructions, Rescaled};
use crate::chips::lookup::{LookupChip, LookupConfig, LookupInstructions, Piece};
use crate::chips::range::limb_pieces;
use crate::envelope::MAX_SHIFT;
use crate::field::{fp_from_i128, fp_to_i128};
use crate::fixed::ops::{rescale, rescale_remainder};
use crate::fixed::{Activation, QFormat};
use crate::Fp;

/// Rescale (and activation) over the generic lookup gadget.
#[derive(Clone, Debug)]
pub struct RescaleChip {
    lookup: LookupChip,
    limb_bits: u32,
}

impl RescaleChip {
    /// Builds the chip; remainders and outputs wider than `limb_bits` are split
    /// into limbs.
    pub fn construct(lookup: LookupChip, limb_bits: u32) -> Self {
        Self { lookup, limb_bits }
    }
}

impl Chip<Fp> for RescaleChip {
    type Config = LookupConfig;
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        self.lookup.config()
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

/// Witnesses for a rescale of `acc`: the remainder's limbs and `q`'s pieces, from
/// the native reference.
pub fn rescale_pieces(
    acc: Value<Fp>,
    shift: u32,
    format: QFormat,
    activation: Option<Activation>,
    limb_bits: u32,
) -> Vec<Piece> {
    let plan = rescale_lookups(shift, format, activation, limb_bits);
    let (lookups, n_rem) = (plan.lookups, plan.remainder_pieces);
    let acc = acc.map(|a| fp_to_i128(&a).unwrap_or(0));
    let r = acc.map(|a| fp_from_i128(rescale_remainder(a, shift)));
    let q = acc.map(|a| fp_from_i128(rescale(a, shift)));
    let mut pieces = limb_pieces(r, &lookups[..n_rem]);
    pieces.extend(limb_pieces(q, &lookups[n_rem..]));
    pieces
}

impl RescaleInstructions for RescaleChip {
    fn rescale(
        &self,
        layouter: &mut impl Layouter<Fp>,
        acc: &AssignedCell<Fp, Fp>,
        shift: u32,
        format: QFormat,
        activation: Option<Activation>,
    ) -> Result<Rescaled, Error> {
        let pieces = rescale_pieces(
            acc.value().copied(),
            shift,
            format,
            activation,
            self.limb_bits,
        );
        if shift > MAX_SHIFT {
            return Err(Error::Synthesis);
        }
        let plan = rescale_lookups(shift, format, activation, self.limb_bits);
        let n_rem = plan.remainder_pieces;
        let half = if shift == 0 { 0 } else { 1i64 << (shift - 1) };
        let d = if plan.relu_by_sign {
            self.lookup
                .decompose_select(layouter, acc, half, &pieces, n_rem)?
        } else {
            self.lookup.decompose(layouter, acc, half, &pieces)?
        };
        let q = d.rests.get(n_rem).cloned().ok_or(Error::Synthesis)?;
        let sign = if plan.relu_by_sign {
            d.outputs.last().cloned()
        } else {
            None
        };
        let y = match (activation, d.selected) {
            (_, Some(selected)) => selected,
            (Some(_), None) => d.outputs.last().cloned().ok_or(Error::Synthesis)?,
            (None, None) => q.clone(),
        };
        Ok(Rescaled { q, y, sign })
    }

    fn rescale_masked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        acc: &AssignedCell<Fp, Fp>,
        shift: u32,
        format: QFormat,
        mask: &AssignedCell<Fp, Fp>,
    ) -> Result<Rescaled, Error> {
        if shift > MAX_SHIFT {
            return Err(Error::Synthesis);
        }
        let pieces = rescale_pieces(acc.value().copied(), shift, format, None, self.limb_bits);
        let n_rem = rescale_lookups(shift, format, None, self.limb_bits).remainder_pieces;
        let half = if shift == 0 { 0 } else { 1i64 << (shift - 1) };
        let d = self
            .lookup
            .decompose_mask(layouter, acc, half, &pieces, n_rem, mask)?;
        let q = d.rests.get(n_rem).cloned().ok_or(Error::Synthesis)?;
        let y = d.selected.ok_or(Error::Synthesis)?;
        Ok(Rescaled { q, y, sign: None })
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;
    use proptest::prelude::*;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::rescale::register_rescale;
    use crate::chips::table::{Lookup, TableSet};
    use crate::chips::test_utils::{assert_gate_fails, assert_lookup_fails, mock, Synth};
    use crate::field::fp_from_i128;

    /// Rescales each accumulator and exposes the outputs `y` as public inputs.
    #[derive(Clone)]
    struct Rescale {
        accs: Vec<i128>,
        shift: u32,
        format: QFormat,
        activation: Option<Activation>,
        limb_bits: u32,
    }

    impl Synth for Rescale {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_rescale(
                &mut set,
                self.shift,
                self.format,
                self.activation,
                self.limb_bits,
            );
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = layouter.assign_region(
                || "accs",
                |mut region| {
                    self.accs
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            region.assign_advice(
                                || "acc",
                                cfg.dot.a[0],
                                i,
                                || Value::known(fp_from_i128(*v)),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()
                },
            )?;
            let chip = cfg.rescale_chip(self.limb_bits);
            for (i, c) in cells.iter().enumerate() {
                let r = chip.rescale(layouter, c, self.shift, self.format, self.activation)?;
                cfg.expose(layouter, &r.y, i)?;
            }
            Ok(())
        }
    }

    /// The native reference for one accumulator.
    fn native(acc: i128, shift: u32, format: QFormat, act: Option<Activation>) -> Option<i64> {
        let q = format.check(rescale(acc, shift), "test").ok()?;
        Some(act.map_or(q, |a| a.apply(q, format)))
    }

    #[test]
    fn exhaustive_over_8_bit_accumulators() {
        let format = QFormat::new(3, 6).unwrap();
        for shift in [0u32, 1, 3, 4] {
            for act in [
                None,
                Some(Activation::Relu),
                Some(Activation::Sigmoid),
                Some(Activation::Exp),
            ] {
                // Keep accumulators whose rescaled value fits the 6-bit format.
                let accs: Vec<i128> = (-128i128..128)
                    .filter(|a| native(*a, shift, format, act).is_some())
                    .collect();
                let ys: Vec<Fp> = accs
                    .iter()
                    .map(|a| fp_from_i128(native(*a, shift, format, act).unwrap_or(0) as i128))
                    .collect();
                let c = Rescale {
                    accs,
                    shift,
                    format,
                    activation: act,
                    limb_bits: 8,
                };
                assert_eq!(mock(11, c, ys), Ok(()), "shift {shift} act {act:?}");
            }
        }
    }

    #[test]
    fn overflowing_quotient_cannot_be_proven() {
        // 6-bit format: q must lie in [-32, 31]; acc = 32 << 3 rescales to 32.
        let format = QFormat::new(3, 6).unwrap();
        let c = Rescale {
            accs: vec![32 << 3],
            shift: 3,
            format,
            activation: None,
            limb_bits: 8,
        };
        assert_lookup_fails(mock(8, c, vec![fp_from_i128(32)]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn wide_rescale_matches_native(
            acc in -(1i128 << 40)..(1i128 << 40),
            shift in 0u32..20,
            act in prop_oneof![Just(None), Just(Some(Activation::Relu))],
        ) {
            let format = QFormat::new(6, 12).unwrap();
            // Draw the accumulator so the output fits, then check bit equality.
            let acc = acc.rem_euclid(1i128 << (shift + 11)) - (1i128 << (shift + 10));
            let y = native(acc, shift, format, act);
            prop_assume!(y.is_some());
            let y = fp_from_i128(y.unwrap_or(0) as i128);
            let c = Rescale { accs: vec![acc], shift, format, activation: act, limb_bits: 7 };
            prop_assert_eq!(mock(13, c, vec![y]), Ok(()));
        }
    }

    /// A rescale of `acc` with explicitly chosen remainder, quotient and output.
    #[derive(Clone)]
    struct Tampered {
        acc: i128,
        shift: u32,
        r: i128,
        q: i128,
        y: i128,
        format: QFormat,
        activation: Option<Activation>,
    }

    impl Synth for Tampered {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_rescale(&mut set, self.shift, self.format, self.activation, 8);
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            use crate::chips::lookup::{LookupInstructions, Piece};
            let acc = layouter.assign_region(
                || "acc",
                |mut region| {
                    region.assign_advice(
                        || "acc",
                        cfg.dot.a[0],
                        0,
                        || Value::known(fp_from_i128(self.acc)),
                    )
                },
            )?;
            let q_lookup = match self.activation {
                Some(a) => Lookup::Activation(a, self.format),
                None => Lookup::Signed(self.format.bits()),
            };
            let out = if self.activation.is_some() { self.y } else { 0 };
            let pieces = vec![
                Piece {
                    lookup: Lookup::Unsigned(self.shift),
                    input: Value::known(fp_from_i128(self.r)),
                    output: Value::known(Fp::from(0)),
                },
                Piece {
                    lookup: q_lookup,
                    input: Value::known(fp_from_i128(self.q)),
                    output: Value::known(fp_from_i128(out)),
                },
            ];
            cfg.lookup_chip()
                .decompose(layouter, &acc, 1 << (self.shift - 1), &pieces)?;
            Ok(())
        }
    }

    fn honest(acc: i128, activation: Option<Activation>) -> Tampered {
        let format = QFormat::new(4, 8).unwrap();
        let shift = 4;
        let q = rescale(acc, shift);
        Tampered {
            acc,
            shift,
            r: rescale_remainder(acc, shift),
            q,
            y: activation.map_or(q as i64, |a| a.apply(q as i64, format)) as i128,
            format,
            activation,
        }
    }

    #[test]
    fn honest_tampering_harness_verifies() {
        for acc in [-500i128, -8, 0, 7, 8, 1000] {
            assert_eq!(
                mock(9, honest(acc, Some(Activation::Sigmoid)), vec![]),
                Ok(())
            );
            assert_eq!(mock(9, honest(acc, None), vec![]), Ok(()));
        }
    }

    #[test]
    fn remainder_past_its_range_fails_the_lookup() {
        // acc + 8 = q * 16 + r, rewritten as (q - 1) * 16 + (r + 16): the gate holds.
        let mut t = honest(1000, None);
        t.r += 16;
        t.q -= 1;
        assert_lookup_fails(mock(9, t, vec![]));
    }

    #[test]
    fn negative_remainder_posing_as_large_positive_fails_the_lookup() {
        // r - 16 is negative, i.e. the field element p - (16 - r).
        let mut t = honest(1000, None);
        t.r -= 16;
        t.q += 1;
        assert_lookup_fails(mock(9, t, vec![]));
    }

    #[test]
    fn wrong_quotient_fails_the_end_gate() {
        let mut t = honest(1000, None);
        t.q += 1;
        assert_gate_fails(mock(9, t, vec![]), "decompose end");
    }

    #[test]
    fn wrong_remainder_fails_the_end_gate() {
        let mut t = honest(1000, Some(Activation::Relu));
        t.r += 1;
        assert_gate_fails(mock(9, t, vec![]), "decompose end");
    }

    #[test]
    fn quotient_one_past_the_bound_fails_the_lookup() {
        // Format Q4/8b: q <= 127. acc = 128 * 16 rescales to exactly 128.
        let t = honest(128 * 16, None);
        assert_eq!(t.q, 128);
        assert_lookup_fails(mock(9, t.clone(), vec![]));
        let mut t = honest(128 * 16, Some(Activation::Relu));
        t.y = 128;
        assert_lookup_fails(mock(9, t, vec![]));
    }

    #[test]
    fn wrong_activation_output_fails_the_lookup() {
        for act in Activation::ALL {
            for acc in [-300i128, 40, 1000] {
                let t = honest(acc, Some(act));
                assert_eq!(mock(9, t.clone(), vec![]), Ok(()), "{act} {acc}");
                let mut bad = t;
                bad.y += 1;
                assert_lookup_fails(mock(9, bad, vec![]));
            }
        }
        // A leaky ReLU's table is its own slope's: the output of another
        // slope (or of a plain ReLU) fails it.
        let t = honest(-300, Some(Activation::LeakyRelu(19661)));
        let mut other = t.clone();
        other.y = Activation::LeakyRelu(655).apply(t.q as i64, t.format) as i128;
        assert_ne!(other.y, t.y);
        assert_lookup_fails(mock(9, other, vec![]));
    }
}
