//! Choosing `k`: the smallest circuit size that fits every region, the table and
//! the public inputs.

use halo2_proofs::plonk::{Circuit, ConstraintSystem};

use super::CircuitError;
use crate::Fp;

/// The largest `k` zkpot proves at.
pub const MAX_K: u32 = 22;

/// Row counts of a planned circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizing {
    /// Rows of the MAC gadget's columns.
    pub mac_rows: usize,
    /// Rows of the lookup gadget's columns.
    pub lookup_rows: usize,
    /// Rows of the constants column.
    pub constant_rows: usize,
    /// Rows of the lookup table.
    pub table_rows: usize,
    /// Public inputs.
    pub instance_rows: usize,
    /// Any other rows (hashing and so on).
    pub other_rows: usize,
}

impl Sizing {
    /// The rows the tallest column needs.
    pub fn rows(&self) -> usize {
        [
            self.mac_rows,
            self.lookup_rows,
            self.constant_rows,
            self.table_rows,
            self.instance_rows,
            self.other_rows,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// The smallest `k` whose usable rows (after the blinding rows of circuit `C`)
/// hold `sizing`.
pub fn min_k<C: Circuit<Fp>>(sizing: &Sizing) -> Result<u32, CircuitError> {
    let mut cs = ConstraintSystem::<Fp>::default();
    let _ = C::configure(&mut cs);
    let reserved = cs.blinding_factors() + 1;
    let rows = sizing.rows() + reserved;
    for k in 4..=MAX_K {
        if rows <= 1usize << k {
            return Ok(k);
        }
    }
    Err(CircuitError::TooLarge { rows, max_k: MAX_K })
}
