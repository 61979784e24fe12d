//! The chip behind [`RescaleInstructions`](super::RescaleInstructions).

use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Value};
use halo2_proofs::plonk::Error;

use super::{rescale_lookups, RescaleInstructions, Rescaled};
use crate::chips::lookup::{LookupChip, LookupConfig, LookupInstructions, Piece};
use crate::chips::range::limb_pieces;
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
    pub fn construct(config: LookupConfig, limb_bits: u32) -> Self {
        Self {
            lookup: LookupChip::construct(config),
            limb_bits,
        }
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
    let (lookups, n_rem) = rescale_lookups(shift, format, activation, limb_bits);
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
        let n_rem = rescale_lookups(shift, format, activation, self.limb_bits).1;
        let half = if shift == 0 { 0 } else { 1i64 << (shift - 1) };
        let d = self.lookup.decompose(layouter, acc, half, &pieces)?;
        let q = d.rests.get(n_rem).cloned().ok_or(Error::Synthesis)?;
        let y = match activation {
            Some(_) => d.outputs.last().cloned().ok_or(Error::Synthesis)?,
            None => q.clone(),
        };
        Ok(Rescaled { q, y })
    }
}
