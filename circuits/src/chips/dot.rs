//! Wide multiply-accumulate: several dot products that share one operand.
//!
//! A row holds `width` elements of a shared vector `a` and, for each of `lanes`
//! lanes, `width` elements of that lane's vector `b_g` and a running sum:
//! `acc_g = acc_g(prev row) + sum_k a_k * b_{g,k}`. A dot product of length `n`
//! takes `ceil(n / width)` rows, and each row performs `width * lanes`
//! multiply-adds. Dense layers share the input row across output neurons, so the
//! input is laid out once per `lanes` outputs instead of once per output.
//!
//! Padding elements of `a` are copied from the constant 0, so padding can add
//! nothing to a sum whatever the prover puts in the padding of `b`.

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

pub use chip::{DotChip, DotConfig};

use crate::Fp;

/// An element of a vector fed to the MAC gate.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A cell assigned elsewhere, copied in with an equality constraint.
    Cell(AssignedCell<Fp, Fp>),
    /// A constant fixed by the circuit.
    Constant(Fp),
    /// A fresh private witness.
    Witness(Value<Fp>),
}

impl Operand {
    /// The operand's value.
    pub fn value(&self) -> Value<Fp> {
        match self {
            Operand::Cell(c) => c.value().copied(),
            Operand::Constant(c) => Value::known(*c),
            Operand::Witness(v) => *v,
        }
    }
}

/// The cells a batch of dot products assigned.
#[derive(Clone, Debug)]
pub struct DotCells {
    /// The shared vector's cells (first occurrence of each element).
    pub shared: Vec<AssignedCell<Fp, Fp>>,
    /// Each lane's vector cells.
    pub lanes: Vec<Vec<AssignedCell<Fp, Fp>>>,
    /// Each lane's dot product `sum_k a_k * b_{g,k}`.
    pub sums: Vec<AssignedCell<Fp, Fp>>,
}

/// Instructions of the MAC gadget.
pub trait DotInstructions {
    /// Computes `a . b_g` for every lane vector `b_g` (at most the chip's lane
    /// count, each as long as `a`).
    fn dot_products(
        &self,
        layouter: &mut impl Layouter<Fp>,
        a: &[Operand],
        b: &[Vec<Operand>],
    ) -> Result<DotCells, Error>;
}
