//! The chip behind [`RangeInstructions`](super::RangeInstructions).

use halo2_proofs::circuit::{AssignedCell, Chip, Layouter};
use halo2_proofs::plonk::Error;

use super::{limb_pieces, range_lookups, RangeInstructions};
use crate::chips::lookup::{LookupChip, LookupConfig, LookupInstructions};
use crate::Fp;

/// Range checks over the generic lookup gadget, with a limb width set per circuit.
#[derive(Clone, Debug)]
pub struct RangeChip {
    lookup: LookupChip,
    limb_bits: u32,
}

impl RangeChip {
    /// Builds the chip; values wider than `limb_bits` are split into limbs.
    pub fn construct(lookup: LookupChip, limb_bits: u32) -> Self {
        Self { lookup, limb_bits }
    }
}

impl Chip<crate::Fp> for RangeChip {
    type Config = LookupConfig;
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        self.lookup.config()
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

impl RangeInstructions for RangeChip {
    fn range_check(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        bits: u32,
        signed: bool,
    ) -> Result<(), Error> {
        let lookups = range_lookups(bits, signed, self.limb_bits);
        let pieces = limb_pieces(value.value().copied(), &lookups);
        self.lookup.decompose(layouter, value, 0, &pieces)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;
    use proptest::prelude::*;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::range::register_range;
    use crate::chips::table::TableSet;
    use crate::chips::test_utils::{assert_lookup_fails, failing_regions, mock, Synth};
    use crate::field::fp_from_i128;

    /// Range-checks each value in its own region: region 0 is the table, region 1
    /// witnesses the values, and region `2 + i` checks value `i`.
    #[derive(Clone)]
    struct Check {
        values: Vec<i128>,
        bits: u32,
        signed: bool,
        limb_bits: u32,
    }

    impl Synth for Check {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_range(&mut set, self.bits, self.signed, self.limb_bits);
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = layouter.assign_region(
                || "values",
                |mut region| {
                    self.values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            region.assign_advice(
                                || "v",
                                cfg.dot.a[0],
                                i,
                                || Value::known(fp_from_i128(*v)),
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()
                },
            )?;
            let chip = cfg.range_chip(self.limb_bits);
            for c in &cells {
                chip.range_check(layouter, c, self.bits, self.signed)?;
            }
            Ok(())
        }
    }

    /// Checks every value in `lo..hi` and returns the values that failed.
    fn rejected(lo: i128, hi: i128, bits: u32, signed: bool, limb_bits: u32) -> Vec<i128> {
        let values: Vec<i128> = (lo..hi).collect();
        let check = Check {
            values: values.clone(),
            bits,
            signed,
            limb_bits,
        };
        let result = mock(11, check, vec![]);
        failing_regions(&result)
            .into_iter()
            .map(|r| values[r - 2])
            .collect()
    }

    #[test]
    fn unsigned_8_bits_exhaustive() {
        let outside: Vec<i128> = (-300..0).chain(256..300).collect();
        // Directly in the table, and split into two 4-bit limbs.
        assert_eq!(rejected(-300, 300, 8, false, 8), outside);
        assert_eq!(rejected(-300, 300, 8, false, 4), outside);
        // Three limbs: 3 + 3 + 2 bits.
        assert_eq!(rejected(-300, 300, 8, false, 3), outside);
    }

    #[test]
    fn signed_8_bits_exhaustive() {
        let outside: Vec<i128> = (-300..-128).chain(128..300).collect();
        assert_eq!(rejected(-300, 300, 8, true, 8), outside);
        assert_eq!(rejected(-300, 300, 8, true, 5), outside);
    }

    #[test]
    fn one_outside_either_end_is_rejected() {
        for bits in [1u32, 7, 12, 16] {
            let max = (1i128 << bits) - 1;
            let check = |v: i128, signed: bool| {
                mock(
                    11,
                    Check {
                        values: vec![v],
                        bits,
                        signed,
                        limb_bits: 6,
                    },
                    vec![],
                )
            };
            assert_eq!(check(0, false), Ok(()));
            assert_eq!(check(max, false), Ok(()));
            assert_lookup_fails(check(max + 1, false));
            // A negative value is p - |v|: a huge field element, never in range.
            assert_lookup_fails(check(-1, false));
            let half = 1i128 << (bits - 1);
            assert_eq!(check(-half, true), Ok(()));
            assert_eq!(check(half - 1, true), Ok(()));
            assert!(check(half, true).is_err());
            assert!(check(-half - 1, true).is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn wide_values_match_the_bound(v in -(1i128 << 33)..(1i128 << 33), signed in any::<bool>()) {
            let bits = 32;
            let inside = if signed {
                (-(1i128 << 31)..(1i128 << 31)).contains(&v)
            } else {
                (0..(1i128 << 32)).contains(&v)
            };
            let r = mock(10, Check { values: vec![v], bits, signed, limb_bits: 8 }, vec![]);
            prop_assert_eq!(r.is_ok(), inside);
        }
    }
}
