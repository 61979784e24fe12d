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
    pub fn construct(config: LookupConfig, limb_bits: u32) -> Self {
        Self {
            lookup: LookupChip::construct(config),
            limb_bits,
        }
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
