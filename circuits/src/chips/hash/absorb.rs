//! The sponge's additions and constants, on three equality-enabled columns
//! shared with other chips (the MAC gadget's, as the Merkle swap gate uses).
//!
//! A `ConstantLength` sponge absorbs its third and later words by adding them
//! to the rate words of the state; the permutation chip's lanes hold nothing
//! but permutations (their slots must stay aligned to the shared round
//! schedule), so the additions live here: one row `[x, y, x + y]` under the
//! gate `sponge absorb`. Constants (capacity words, padding) are assigned
//! here too, in the first column.

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

use crate::chips::constraints;
use crate::Fp;

/// The addition gate's columns and selector.
#[derive(Clone, Debug)]
pub struct AbsorbConfig {
    /// `x`, `y` and `x + y`.
    pub cols: [Column<Advice>; 3],
    /// Enables `sponge absorb`.
    q: Selector,
}

impl AbsorbConfig {
    /// Configures the gate on three advice columns (equality is enabled on
    /// them).
    ///
    /// Side effects: one selector and the gate `sponge absorb` (degree 2):
    /// `sum = x + y`.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, cols: [Column<Advice>; 3]) -> Self {
        for c in cols {
            meta.enable_equality(c);
        }
        let q = meta.selector();
        constraints::gate(meta, "sponge absorb", |v| {
            let q = v.query_selector(q);
            let [x, y, sum] = cols.map(|c| v.query_advice(c, Rotation::cur()));
            vec![q * (sum - x - y)]
        });
        Self { cols, q }
    }

    /// `x + y` in a new cell.
    pub fn add(
        &self,
        layouter: &mut impl Layouter<Fp>,
        x: &AssignedCell<Fp, Fp>,
        y: &AssignedCell<Fp, Fp>,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        layouter.assign_region(
            || "absorb",
            |mut region| {
                self.q.enable(&mut region, 0)?;
                let a = x.copy_advice(|| "rate word", &mut region, self.cols[0], 0)?;
                let b = y.copy_advice(|| "input word", &mut region, self.cols[1], 0)?;
                let sum = a.value().copied() + b.value().copied();
                region.assign_advice(|| "absorbed", self.cols[2], 0, || sum)
            },
        )
    }

    /// Cells holding `values`, each constrained to its constant.
    pub fn constants(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Fp],
    ) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
        layouter.assign_region(
            || "hash constants",
            |mut region| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        region.assign_advice_from_constant(|| "hash constant", self.cols[0], i, *v)
                    })
                    .collect()
            },
        )
    }
}
