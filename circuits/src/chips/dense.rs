//! A dense layer: `y = act(rescale(x W^T + b))` for a batch of input rows.
//!
//! Composed of the MAC gadget ([`dot`](super::dot)) and the rescale gadget
//! ([`rescale`](super::rescale)). For each batch row the input row is the shared
//! operand and `lanes` output neurons are computed side by side; the bias enters
//! as one more product with the constant 1. The native reference is
//! [`ops::dense`](crate::fixed::ops::dense).

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

pub use chip::DenseChip;

use super::dot::Operand;
use super::rescale::register_rescale;
use super::table::TableSet;
use crate::fixed::{DenseSpec, FixedError};
use crate::Fp;

/// The cells a dense layer assigned.
#[derive(Clone, Debug)]
pub struct DenseCells {
    /// The input cells, `batch x inputs` (first occurrence).
    pub inputs: Vec<Vec<AssignedCell<Fp, Fp>>>,
    /// The weight cells, `outputs x inputs` (first occurrence).
    pub weights: Vec<Vec<AssignedCell<Fp, Fp>>>,
    /// The bias cells, one per output, if the layer has a bias.
    pub bias: Vec<AssignedCell<Fp, Fp>>,
    /// The rescaled pre-activation values, `batch x outputs`.
    pub pre_activation: Vec<Vec<AssignedCell<Fp, Fp>>>,
    /// The outputs, `batch x outputs`.
    pub outputs: Vec<Vec<AssignedCell<Fp, Fp>>>,
}

/// Instructions of the dense-layer gadget.
pub trait DenseInstructions {
    /// Proves one dense layer. `x` is `batch x inputs`, `w` is `outputs x inputs`,
    /// `bias` has one operand per output.
    fn dense(
        &self,
        layouter: &mut impl Layouter<Fp>,
        spec: &DenseSpec,
        x: &[Vec<Operand>],
        w: &[Vec<Operand>],
        bias: Option<&[Operand]>,
    ) -> Result<DenseCells, Error>;
}

/// Registers the table entries a dense layer needs.
pub fn register_dense(
    set: &mut TableSet,
    spec: &DenseSpec,
    limb_bits: u32,
) -> Result<(), FixedError> {
    register_rescale(
        set,
        spec.shift()?,
        spec.output_format,
        spec.activation,
        limb_bits,
    );
    Ok(())
}
