//! Rescaling with rounding, fused with an optional activation.
//!
//! Proves `acc + 2^(s-1) = q * 2^s + r` with `0 <= r < 2^s` (r split into limbs if
//! `s` is wider than the limb width) and `q` inside the output format's bound, then
//! `y = act(q)`. When there is an activation, `q` is looked up in the activation's
//! table, which both range-checks it and yields `y` in one lookup; otherwise `q` is
//! range-checked and `y = q`. The rule is the native [`rescale`](crate::fixed::ops::rescale).

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

pub use chip::RescaleChip;

use super::range::range_lookups;
use super::table::{Lookup, TableSet};
use crate::fixed::{Activation, QFormat};
use crate::Fp;

/// The cells a rescale produced.
#[derive(Clone, Debug)]
pub struct Rescaled {
    /// The rescaled value `q`.
    pub q: AssignedCell<Fp, Fp>,
    /// The output `act(q)`, or `q` itself without an activation.
    pub y: AssignedCell<Fp, Fp>,
    /// For ReLU computed from the sign bit: the bit `[q >= 0]`, which is also
    /// ReLU's derivative for the backward pass.
    pub sign: Option<AssignedCell<Fp, Fp>>,
}

/// Instructions for rescaling.
pub trait RescaleInstructions {
    /// Rescales `acc` by `shift` bits into `format`, then applies `activation`.
    fn rescale(
        &self,
        layouter: &mut impl Layouter<Fp>,
        acc: &AssignedCell<Fp, Fp>,
        shift: u32,
        format: QFormat,
        activation: Option<Activation>,
    ) -> Result<Rescaled, Error>;

    /// Rescales `acc` by `shift` bits into `format` and multiplies the result by
    /// `mask` (a 0/1 cell): `y = mask * rescale(acc)`. ReLU's backward pass uses
    /// it with the forward pass's sign bit.
    fn rescale_masked(
        &self,
        layouter: &mut impl Layouter<Fp>,
        acc: &AssignedCell<Fp, Fp>,
        shift: u32,
        format: QFormat,
        mask: &AssignedCell<Fp, Fp>,
    ) -> Result<Rescaled, Error>;
}

/// How a rescale is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescalePlan {
    /// The lookups, lowest piece first: the remainder's limbs, then `q`'s.
    pub lookups: Vec<Lookup>,
    /// How many of them are the remainder's.
    pub remainder_pieces: usize,
    /// Whether ReLU is computed by selecting `q` with its sign bit (values wider
    /// than one table) instead of a ReLU table lookup.
    pub relu_by_sign: bool,
}

impl RescalePlan {
    /// Rows the rescale takes in the lookup gadget.
    pub fn rows(&self) -> usize {
        self.lookups.len() + if self.relu_by_sign { 2 } else { 0 }
    }
}

/// Plans a rescale. `q` is a single activation lookup when there is an
/// activation, except ReLU of a value wider than `limb_bits`: then `q` is split
/// into limbs whose signed top limb yields the sign bit (a [`Lookup::Sign`]),
/// and `relu(q) = q * sign`, so the table never needs the whole domain.
pub fn rescale_lookups(
    shift: u32,
    format: QFormat,
    activation: Option<Activation>,
    limb_bits: u32,
) -> RescalePlan {
    let mut lookups = if shift == 0 {
        vec![]
    } else {
        range_lookups(shift, false, limb_bits)
    };
    let remainder_pieces = lookups.len();
    let mut relu_by_sign = false;
    match activation {
        Some(Activation::Relu) if format.bits() > limb_bits => {
            let mut q = range_lookups(format.bits(), true, limb_bits);
            if let Some(Lookup::Signed(top)) = q.pop() {
                q.push(Lookup::Sign(top));
            }
            lookups.extend(q);
            relu_by_sign = true;
        }
        Some(act) => lookups.push(Lookup::Activation(act, format)),
        None => lookups.extend(range_lookups(format.bits(), true, limb_bits)),
    }
    RescalePlan {
        lookups,
        remainder_pieces,
        relu_by_sign,
    }
}

/// Registers the table entries a rescale needs.
pub fn register_rescale(
    set: &mut TableSet,
    shift: u32,
    format: QFormat,
    activation: Option<Activation>,
    limb_bits: u32,
) {
    for l in rescale_lookups(shift, format, activation, limb_bits).lookups {
        set.add(l);
    }
}
