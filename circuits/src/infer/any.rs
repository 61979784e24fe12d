//! An inference circuit in whichever layout its model calls for.

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::{Error, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::Params;

use super::circuit::{
    layout_for, Batched, Compact, InferShape, InferenceCircuit, InferenceWitness, Layout,
    Visibility, Wide, WideLookups,
};
use super::model::QModel;
use crate::chips::core::CoreShape;
use crate::circuits::{CircuitError, Measured};
use crate::proving;
use crate::Fp;

/// An inference circuit with the layout [`layout_for`] picks for its model
/// and batch.
#[derive(Clone, Debug)]
pub enum AnyInference {
    /// A small model.
    Compact(InferenceCircuit<Compact>),
    /// A large model with 8-bit weights.
    Wide(InferenceCircuit<Wide>),
    /// A large model with weights of another width.
    WideLookups(InferenceCircuit<WideLookups>),
    /// Several inputs of a large model with 8-bit weights.
    Batched(InferenceCircuit<Batched>),
}

macro_rules! each {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            AnyInference::Compact($c) => $e,
            AnyInference::Wide($c) => $e,
            AnyInference::WideLookups($c) => $e,
            AnyInference::Batched($c) => $e,
        }
    };
}

impl AnyInference {
    /// Plans the circuit of one inference of `model` in its layout.
    pub fn new(
        model: QModel,
        input: Visibility,
        output: Visibility,
        witness: Option<InferenceWitness>,
    ) -> Result<Self, CircuitError> {
        Self::batched(model, input, output, 1, witness)
    }

    /// Plans the circuit of `batch` inferences of `model` in its layout.
    pub fn batched(
        model: QModel,
        input: Visibility,
        output: Visibility,
        batch: usize,
        witness: Option<InferenceWitness>,
    ) -> Result<Self, CircuitError> {
        Ok(match layout_for(&model, batch) {
            Layout::Compact => AnyInference::Compact(InferenceCircuit::batched(
                model, input, output, batch, witness,
            )?),
            Layout::Wide => AnyInference::Wide(InferenceCircuit::batched(
                model, input, output, batch, witness,
            )?),
            Layout::WideLookups => AnyInference::WideLookups(InferenceCircuit::batched(
                model, input, output, batch, witness,
            )?),
            Layout::Batched => AnyInference::Batched(InferenceCircuit::batched(
                model, input, output, batch, witness,
            )?),
        })
    }

    /// The layout's core shape.
    pub fn shape(&self) -> CoreShape {
        match self {
            AnyInference::Compact(_) => Compact::SHAPE,
            AnyInference::Wide(_) => Wide::SHAPE,
            AnyInference::WideLookups(_) => WideLookups::SHAPE,
            AnyInference::Batched(_) => Batched::SHAPE,
        }
    }

    /// The model.
    pub fn model(&self) -> &QModel {
        each!(self, c => c.model())
    }

    /// The circuit without its witness.
    pub fn describe(&self) -> Self {
        match self {
            AnyInference::Compact(c) => AnyInference::Compact(c.describe()),
            AnyInference::Wide(c) => AnyInference::Wide(c.describe()),
            AnyInference::WideLookups(c) => AnyInference::WideLookups(c.describe()),
            AnyInference::Batched(c) => AnyInference::Batched(c.describe()),
        }
    }

    /// Rows used and the smallest `k`.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        each!(self, c => c.measure())
    }

    /// The number of inputs proven.
    pub fn batch(&self) -> usize {
        each!(self, c => c.batch())
    }

    /// The public inputs and each item's output, from the witness.
    pub fn public_inputs(&self) -> Result<(Vec<Fp>, Vec<Vec<i64>>), CircuitError> {
        each!(self, c => c.public_inputs())
    }

    /// The proving key of the circuit's description.
    pub fn proving_key(&self, params: &Params<EqAffine>) -> Result<ProvingKey<EqAffine>, Error> {
        each!(self, c => proving::proving_key(params, &c.describe()))
    }

    /// The verifying key of the circuit's description.
    pub fn verifying_key(
        &self,
        params: &Params<EqAffine>,
    ) -> Result<VerifyingKey<EqAffine>, Error> {
        each!(self, c => proving::verifying_key(params, &c.describe()))
    }

    /// Proves the circuit (with its witness) for `public`.
    pub fn prove(
        self,
        params: &Params<EqAffine>,
        pk: &ProvingKey<EqAffine>,
        public: &[Fp],
    ) -> Result<Vec<u8>, Error> {
        each!(self, c => proving::prove(params, pk, c, public))
    }
}
