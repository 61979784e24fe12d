//! The proof of one inference: the output is the fixed-point forward pass of
//! the committed weights on the input.
//!
//! Public inputs, in order: `C_W`; then the input (its values if public, its
//! commitment if committed, nothing if private); then the output (its values
//! if public, its commitment if committed). The weights are always committed
//! (`C_W = hash([salt, pack(W)...])`); publishing weights means publishing them
//! with their salt, so anyone can recompute `C_W`. Private and committed inputs
//! are range-checked to the activation format.

use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use serde::{Deserialize, Serialize};

use super::layers::{commit_model_weights, forward_circuit, register_layers};
use super::model::{QModel, QWeights};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::range::register_range;
use crate::chips::table::TableSet;
use crate::circuits::{measure, CircuitError, Measured};
use crate::envelope::bound;
use crate::field::fp_from_i64;
use crate::train::commit::{
    commit_weights, weights_commitment_native, witness_committed, witness_weights,
};
use crate::Fp;

/// Who sees a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Its values are public inputs.
    Public,
    /// Only its salted commitment is public.
    Committed,
    /// Nothing about it is public (inputs only).
    Private,
}

/// One input of an inference proof, with the salts of its commitments.
#[derive(Clone, Debug)]
pub struct InferenceItem {
    /// The quantized input.
    pub input: Vec<i64>,
    /// The salt of the input commitment (if committed).
    pub input_salt: Fp,
    /// The salt of the output commitment (if committed).
    pub output_salt: Fp,
}

/// The private and public values of an inference proof: the weights once,
/// and one item for each input of the batch.
#[derive(Clone, Debug)]
pub struct InferenceWitness {
    /// The weights.
    pub weights: QWeights,
    /// The salt of `C_W`.
    pub weight_salt: Fp,
    /// The inputs, in the order the public inputs list them.
    pub items: Vec<InferenceItem>,
}

impl InferenceWitness {
    /// The witness of a single inference.
    pub fn single(
        weights: QWeights,
        weight_salt: Fp,
        input: Vec<i64>,
        input_salt: Fp,
        output_salt: Fp,
    ) -> Self {
        Self {
            weights,
            weight_salt,
            items: vec![InferenceItem {
                input,
                input_salt,
                output_salt,
            }],
        }
    }
}

/// The most inputs one inference proof takes.
pub const MAX_BATCH: usize = 256;

/// A column layout for inference circuits: small models stay small with a
/// compact one, large models use a wide one ([`layout_of`]).
pub trait InferShape: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The core shape.
    const SHAPE: CoreShape;
}

/// The layout of small models: 4 products a row in 2 lanes, one lookup lane,
/// one Poseidon lane (21 advice columns).
#[derive(Clone, Copy, Debug)]
pub struct Compact;

/// The layout of large models: 8 products a row in one lane, seven pack
/// lanes, one generic lookup lane and four Poseidon lanes (50 advice columns).
/// Committing a large model's 8-bit weights costs one pack row a weight and a
/// Poseidon permutation for every 62 weights; these lanes keep both near the
/// MAC gadget's height, so an MNIST-sized MLP fits `k = 14` (docs/DESIGN.md,
/// "Inference layouts").
#[derive(Clone, Copy, Debug)]
pub struct Wide;

/// The layout of large models whose weights are not bytes, like a trained
/// model's 16-bit ones: the pack lanes take bytes only, so these weights are
/// range-checked (in 8-bit limbs) by the generic lookup gadget, here in six
/// lanes, and hashed in three Poseidon lanes; 8 products a row in one MAC
/// lane (47 advice columns). A 64-256-10 MLP with 16-bit weights fits
/// `k = 13` (`k = 16` in the compact layout).
#[derive(Clone, Copy, Debug)]
pub struct WideLookups;

/// The layout of a batch of a large model with 8-bit weights: the weights
/// are committed once, as in [`Wide`], and the multiply-adds, which grow
/// with the batch, get eight 8-wide MAC lanes (64 products a row) where
/// [`Wide`] has one, with two lookup lanes for the inputs and rescales, five
/// pack lanes and three Poseidon lanes (114 advice columns). 16 inputs of
/// the MNIST-sized MLP fit `k = 15` instead of `k = 18` (docs/DESIGN.md,
/// "Batched inference").
#[derive(Clone, Copy, Debug)]
pub struct Batched;

impl InferShape for Batched {
    const SHAPE: CoreShape = CoreShape {
        width: 8,
        lanes: 8,
        lane_equality: true,
        lookup_lanes: 2,
        hash_lanes: 3,
        pack_lanes: 5,
    };
}

impl InferShape for Compact {
    const SHAPE: CoreShape = CoreShape {
        width: 4,
        lanes: 2,
        lane_equality: true,
        lookup_lanes: 1,
        hash_lanes: 1,
        pack_lanes: 0,
    };
}

impl InferShape for Wide {
    const SHAPE: CoreShape = INFER_SHAPE;
}

impl InferShape for WideLookups {
    const SHAPE: CoreShape = CoreShape {
        width: 8,
        lanes: 1,
        lane_equality: true,
        lookup_lanes: 6,
        hash_lanes: 3,
        pack_lanes: 0,
    };
}

/// The wide core shape of inference circuits.
pub const INFER_SHAPE: CoreShape = CoreShape {
    width: 8,
    lanes: 1,
    lane_equality: true,
    lookup_lanes: 1,
    hash_lanes: 4,
    pack_lanes: 7,
};

/// Multiply-adds above which a model uses the [`Wide`] layout.
pub const COMPACT_MAX_MACS: usize = 16_384;

/// Whether `model` uses the compact layout (a function of its description
/// only, so prover and verifier agree).
pub fn is_compact(model: &QModel) -> bool {
    model.macs() <= COMPACT_MAX_MACS
}

/// Which layout `model` uses, from its description only (so prover and
/// verifier agree): [`Compact`] up to [`COMPACT_MAX_MACS`] multiply-adds,
/// then [`Wide`] for 8-bit weights and [`WideLookups`] for any other width.
pub fn layout_of(model: &QModel) -> Layout {
    if is_compact(model) {
        Layout::Compact
    } else if model.weight.bits() == 8 {
        Layout::Wide
    } else {
        Layout::WideLookups
    }
}

/// The fewest inputs that take the [`Batched`] layout: below, the one-lane
/// [`Wide`] layout needs no larger `k` and has half the columns.
pub const BATCHED_MIN_INPUTS: usize = 4;

/// Which layout a proof of `batch` inputs of `model` uses, from the
/// statement alone: [`layout_of`] for a small model or few inputs;
/// [`Batched`] for [`BATCHED_MIN_INPUTS`] or more inputs of a large model
/// with 8-bit weights.
pub fn layout_for(model: &QModel, batch: usize) -> Layout {
    match layout_of(model) {
        Layout::Wide if batch >= BATCHED_MIN_INPUTS => Layout::Batched,
        l => l,
    }
}

/// The inference layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// [`Compact`].
    Compact,
    /// [`Wide`].
    Wide,
    /// [`WideLookups`].
    WideLookups,
    /// [`Batched`].
    Batched,
}

/// The limb width of inference range checks.
pub const INFER_LIMB_BITS: u32 = 8;

/// The model's three number formats (fractional and total bits each) as one
/// field element, 16 bits a number: what the verifying key fixes beside the
/// layers, which the gates fix.
pub fn formats_tag(m: &QModel) -> Fp {
    [m.input, m.weight, m.activation]
        .iter()
        .flat_map(|f| [f.frac_bits(), f.bits()])
        .fold(Fp::from(0), |acc, v| {
            acc * Fp::from(1 << 16) + Fp::from(u64::from(v))
        })
}

/// A batch of inferences of one model as a circuit, with the column layout
/// `S`: the weights are committed once and each input runs through its own
/// forward pass.
#[derive(Clone, Debug)]
pub struct InferenceCircuit<S: InferShape = Wide> {
    model: QModel,
    input: Visibility,
    output: Visibility,
    batch: usize,
    witness: Option<InferenceWitness>,
    _shape: std::marker::PhantomData<S>,
}

impl<S: InferShape> InferenceCircuit<S> {
    /// Plans the circuit of a single inference.
    pub fn new(
        model: QModel,
        input: Visibility,
        output: Visibility,
        witness: Option<InferenceWitness>,
    ) -> Result<Self, CircuitError> {
        Self::batched(model, input, output, 1, witness)
    }

    /// Plans the circuit of `batch` inferences (1 to [`MAX_BATCH`]); a
    /// witness holds exactly `batch` items.
    pub fn batched(
        model: QModel,
        input: Visibility,
        output: Visibility,
        batch: usize,
        witness: Option<InferenceWitness>,
    ) -> Result<Self, CircuitError> {
        bound(
            || "inputs of one proof".into(),
            batch as u64,
            1,
            MAX_BATCH as u64,
        )?;
        model.validate_batch(batch)?;
        if output == Visibility::Private {
            return Err(CircuitError::Synthesis(
                "the output is public or committed".into(),
            ));
        }
        if model.weight.bits() > 16 || model.activation.bits() > 24 {
            return Err(CircuitError::LookupTooWide {
                bits: model.weight.bits().max(model.activation.bits()),
                max: 16,
            });
        }
        if let Some(w) = &witness {
            if w.items.len() != batch {
                return Err(CircuitError::Synthesis(format!(
                    "{} inputs for a batch of {batch}",
                    w.items.len()
                )));
            }
            // Fails with the offending value if the model overflows its formats.
            for item in &w.items {
                model.forward(&w.weights, &item.input)?;
            }
        }
        Ok(Self {
            model,
            input,
            output,
            batch,
            witness,
            _shape: std::marker::PhantomData,
        })
    }

    /// The model.
    pub fn model(&self) -> &QModel {
        &self.model
    }

    /// The number of inputs proven.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The same circuit without its witness.
    pub fn describe(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    /// Number of public inputs.
    pub fn instance_len(&self) -> usize {
        1 + self.batch * self.item_instance_len()
    }

    /// Number of public inputs of each item.
    fn item_instance_len(&self) -> usize {
        let input = match self.input {
            Visibility::Public => self.model.input_len(),
            Visibility::Committed => 1,
            Visibility::Private => 0,
        };
        let output = match self.output {
            Visibility::Public => self.model.output_len(),
            _ => 1,
        };
        input + output
    }

    /// Rows used and the smallest `k`.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        measure(&self.describe(), self.instance_len())
    }

    /// The public inputs and each item's output, computed natively from the
    /// witness. Public inputs: `C_W`, then for each item its input (values,
    /// commitment or nothing) and its output (values or commitment).
    pub fn public_inputs(&self) -> Result<(Vec<Fp>, Vec<Vec<i64>>), CircuitError> {
        let w = self
            .witness
            .as_ref()
            .ok_or(CircuitError::Synthesis("no witness".into()))?;
        let flat: Vec<i64> = w.weights.iter().flatten().copied().collect();
        let abits = self.model.activation.bits();
        let mut public = vec![weights_commitment_native(
            w.weight_salt,
            &flat,
            self.model.weight.bits(),
        )];
        let mut outputs = Vec::with_capacity(w.items.len());
        for item in &w.items {
            let outs = self.model.forward(&w.weights, &item.input)?;
            let y = outs.last().cloned().unwrap_or_default();
            match self.input {
                Visibility::Public => public.extend(item.input.iter().map(|v| fp_from_i64(*v))),
                Visibility::Committed => public.push(weights_commitment_native(
                    item.input_salt,
                    &item.input,
                    self.model.input.bits(),
                )),
                Visibility::Private => {}
            }
            match self.output {
                Visibility::Public => public.extend(y.iter().map(|v| fp_from_i64(*v))),
                _ => public.push(weights_commitment_native(item.output_salt, &y, abits)),
            }
            outputs.push(y);
        }
        Ok((public, outputs))
    }

    fn table(&self) -> TableSet {
        let mut set = TableSet::new();
        let m = &self.model;
        register_range(&mut set, m.input.bits(), true, INFER_LIMB_BITS);
        register_layers(&mut set, m, INFER_LIMB_BITS);
        set
    }

    /// One item of the batch: its input shown as its visibility says, the
    /// forward pass on the committed weights' cells, and its output shown.
    /// Returns the next public input row.
    fn synthesize_item(
        &self,
        cfg: &CoreConfig,
        layouter: &mut impl Layouter<Fp>,
        w_cells: &[AssignedCell<Fp, Fp>],
        input: &[Value<i64>],
        salts: [&AssignedCell<Fp, Fp>; 2],
        mut row: usize,
    ) -> Result<usize, Error> {
        let m = &self.model;
        let x: Vec<AssignedCell<Fp, Fp>> = match self.input {
            Visibility::Public => {
                let cells = cfg.witness(
                    &mut layouter.namespace(|| "input"),
                    &input.iter().map(|v| v.map(fp_from_i64)).collect::<Vec<_>>(),
                )?;
                for c in &cells {
                    cfg.expose(&mut layouter.namespace(|| "input"), c, row)?;
                    row += 1;
                }
                cells
            }
            Visibility::Committed => {
                let c = witness_committed(
                    cfg,
                    &mut layouter.namespace(|| "input"),
                    salts[0],
                    input,
                    m.input.bits(),
                    INFER_LIMB_BITS,
                )?;
                cfg.expose(&mut layouter.namespace(|| "input"), &c.commitment, row)?;
                row += 1;
                c.cells
            }
            Visibility::Private => witness_weights(
                cfg,
                &mut layouter.namespace(|| "input"),
                input,
                m.input.bits(),
                INFER_LIMB_BITS,
            )?,
        };

        let x = forward_circuit(cfg, layouter, m, w_cells, x, INFER_LIMB_BITS)?;

        match self.output {
            Visibility::Public => {
                for c in &x {
                    cfg.expose(&mut layouter.namespace(|| "output"), c, row)?;
                    row += 1;
                }
            }
            _ => {
                let c = commit_weights(
                    cfg,
                    &mut layouter.namespace(|| "output"),
                    salts[1],
                    &x,
                    m.activation.bits(),
                )?;
                cfg.expose(&mut layouter.namespace(|| "output"), &c, row)?;
                row += 1;
            }
        }
        Ok(row)
    }
}

impl<S: InferShape> Circuit<Fp> for InferenceCircuit<S> {
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.describe()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> CoreConfig {
        CoreConfig::configure(meta, S::SHAPE)
    }

    fn synthesize(&self, cfg: CoreConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        cfg.load_table(&mut layouter, &self.table())?;
        let m = &self.model;
        let w = self.witness.as_ref();
        let known = |f: &dyn Fn(&InferenceWitness) -> Fp| {
            w.map_or(Value::unknown(), |w| Value::known(f(w)))
        };
        // Salts: the weights', then each item's input and output salts.
        let mut salt_values = vec![known(&|w| w.weight_salt)];
        for i in 0..self.batch {
            let item = |w: &InferenceWitness, f: &dyn Fn(&InferenceItem) -> Fp| {
                w.items.get(i).map_or(Fp::from(0), f)
            };
            salt_values.push(known(&|w| item(w, &|it| it.input_salt)));
            salt_values.push(known(&|w| item(w, &|it| it.output_salt)));
        }
        let salts = cfg.witness(&mut layouter, &salt_values)?;
        // The number formats enter the verifying key (a constant of the
        // constants column): with one weighted layer, shifting the weight and
        // activation formats together leaves every gate and public input as
        // it was, and a statement could restate the outputs scaled by any
        // power of two.
        layouter.assign_region(
            || "formats",
            |mut region| {
                region.assign_advice_from_constant(|| "formats", cfg.dot.a[0], 0, formats_tag(m))
            },
        )?;

        // Weights: range-checked cells, committed once for every item.
        let committed = commit_model_weights(
            &cfg,
            &mut layouter,
            m,
            w.map(|w| &w.weights),
            &salts[0],
            INFER_LIMB_BITS,
        )?;
        let w_cells = committed.cells;
        cfg.expose(&mut layouter, &committed.commitment, 0)?;
        let mut row = 1;
        for i in 0..self.batch {
            let input: Vec<Value<i64>> = match w.and_then(|w| w.items.get(i)) {
                Some(item) => item.input.iter().map(|v| Value::known(*v)).collect(),
                None => vec![Value::unknown(); m.input_len()],
            };
            row = self.synthesize_item(
                &cfg,
                &mut layouter.namespace(|| format!("item {i}")),
                &w_cells,
                &input,
                [&salts[1 + 2 * i], &salts[2 + 2 * i]],
                row,
            )?;
        }
        cfg.finish(&mut layouter)
    }
}

#[cfg(test)]
pub(crate) mod tests;
