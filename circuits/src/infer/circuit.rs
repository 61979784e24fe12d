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

use super::layers::{forward_circuit, register_layers};
use super::model::{QModel, QWeights};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::range::register_range;
use crate::chips::table::TableSet;
use crate::circuits::{measure, CircuitError, Measured};
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

/// The private and public values of an inference proof.
#[derive(Clone, Debug)]
pub struct InferenceWitness {
    /// The weights.
    pub weights: QWeights,
    /// The salt of `C_W`.
    pub weight_salt: Fp,
    /// The quantized input.
    pub input: Vec<i64>,
    /// The salt of the input commitment (if committed).
    pub input_salt: Fp,
    /// The salt of the output commitment (if committed).
    pub output_salt: Fp,
}

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

/// The inference layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// [`Compact`].
    Compact,
    /// [`Wide`].
    Wide,
    /// [`WideLookups`].
    WideLookups,
}

/// The limb width of inference range checks.
pub const INFER_LIMB_BITS: u32 = 8;

/// One inference as a circuit, with the column layout `S`.
#[derive(Clone, Debug)]
pub struct InferenceCircuit<S: InferShape = Wide> {
    model: QModel,
    input: Visibility,
    output: Visibility,
    witness: Option<InferenceWitness>,
    _shape: std::marker::PhantomData<S>,
}

impl<S: InferShape> InferenceCircuit<S> {
    /// Plans an inference circuit.
    pub fn new(
        model: QModel,
        input: Visibility,
        output: Visibility,
        witness: Option<InferenceWitness>,
    ) -> Result<Self, CircuitError> {
        model.validate()?;
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
            // Fails with the offending value if the model overflows its formats.
            model.forward(&w.weights, &w.input)?;
        }
        Ok(Self {
            model,
            input,
            output,
            witness,
            _shape: std::marker::PhantomData,
        })
    }

    /// The model.
    pub fn model(&self) -> &QModel {
        &self.model
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
        let input = match self.input {
            Visibility::Public => self.model.input_len(),
            Visibility::Committed => 1,
            Visibility::Private => 0,
        };
        let output = match self.output {
            Visibility::Public => self.model.output_len(),
            _ => 1,
        };
        1 + input + output
    }

    /// Rows used and the smallest `k`.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        measure(&self.describe(), self.instance_len())
    }

    /// The public inputs and the output, computed natively from the witness.
    pub fn public_inputs(&self) -> Result<(Vec<Fp>, Vec<i64>), CircuitError> {
        let w = self
            .witness
            .as_ref()
            .ok_or(CircuitError::Synthesis("no witness".into()))?;
        let outs = self.model.forward(&w.weights, &w.input)?;
        let y = outs.last().cloned().unwrap_or_default();
        let flat: Vec<i64> = w.weights.iter().flatten().copied().collect();
        let abits = self.model.activation.bits();
        let mut public = vec![weights_commitment_native(
            w.weight_salt,
            &flat,
            self.model.weight.bits(),
        )];
        match self.input {
            Visibility::Public => public.extend(w.input.iter().map(|v| fp_from_i64(*v))),
            Visibility::Committed => public.push(weights_commitment_native(
                w.input_salt,
                &w.input,
                self.model.input.bits(),
            )),
            Visibility::Private => {}
        }
        match self.output {
            Visibility::Public => public.extend(y.iter().map(|v| fp_from_i64(*v))),
            _ => public.push(weights_commitment_native(w.output_salt, &y, abits)),
        }
        Ok((public, y))
    }

    fn table(&self) -> TableSet {
        let mut set = TableSet::new();
        let m = &self.model;
        register_range(&mut set, m.input.bits(), true, INFER_LIMB_BITS);
        register_layers(&mut set, m, INFER_LIMB_BITS);
        set
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
        let salts = cfg.witness(
            &mut layouter,
            &[
                known(&|w| w.weight_salt),
                known(&|w| w.input_salt),
                known(&|w| w.output_salt),
            ],
        )?;

        // Weights: range-checked cells, committed.
        let flat: Vec<Value<i64>> = match w {
            Some(w) => w
                .weights
                .iter()
                .flatten()
                .map(|v| Value::known(*v))
                .collect(),
            None => vec![Value::unknown(); m.n_params()],
        };
        let committed = witness_committed(
            &cfg,
            &mut layouter.namespace(|| "weights"),
            &salts[0],
            &flat,
            m.weight.bits(),
            INFER_LIMB_BITS,
        )?;
        let w_cells = committed.cells;
        cfg.expose(&mut layouter, &committed.commitment, 0)?;
        let mut row = 1;

        // Input.
        let input: Vec<Value<i64>> = match w {
            Some(w) => w.input.iter().map(|v| Value::known(*v)).collect(),
            None => vec![Value::unknown(); m.input_len()],
        };
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
                    &cfg,
                    &mut layouter.namespace(|| "input"),
                    &salts[1],
                    &input,
                    m.input.bits(),
                    INFER_LIMB_BITS,
                )?;
                cfg.expose(&mut layouter.namespace(|| "input"), &c.commitment, row)?;
                row += 1;
                c.cells
            }
            Visibility::Private => witness_weights(
                &cfg,
                &mut layouter.namespace(|| "input"),
                &input,
                m.input.bits(),
                INFER_LIMB_BITS,
            )?,
        };

        // Layers.
        let x = forward_circuit(&cfg, &mut layouter, m, &w_cells, x, INFER_LIMB_BITS)?;

        // Output.
        match self.output {
            Visibility::Public => {
                for c in &x {
                    cfg.expose(&mut layouter.namespace(|| "output"), c, row)?;
                    row += 1;
                }
            }
            _ => {
                let c = commit_weights(
                    &cfg,
                    &mut layouter.namespace(|| "output"),
                    &salts[2],
                    &x,
                    m.activation.bits(),
                )?;
                cfg.expose(&mut layouter.namespace(|| "output"), &c, row)?;
            }
        }
        cfg.finish(&mut layouter)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::fixed::{Activation, QFormat};
    use crate::infer::model::QLayer;

    pub(crate) fn model() -> QModel {
        QModel {
            input: QFormat::new(6, 8).unwrap(),
            activation: QFormat::new(6, 16).unwrap(),
            weight: QFormat::new(6, 8).unwrap(),
            layers: vec![
                QLayer::Conv2d {
                    in_channels: 1,
                    out_channels: 2,
                    height: 4,
                    width: 4,
                    kernel: [3, 3],
                    stride: 1,
                    padding: 1,
                    activation: Some(Activation::Relu),
                },
                QLayer::AvgPool2d {
                    channels: 2,
                    height: 4,
                    width: 4,
                    kernel: 2,
                    stride: 2,
                },
                QLayer::Dense {
                    inputs: 8,
                    outputs: 3,
                    activation: None,
                },
            ],
        }
    }

    pub(crate) fn witness(seed: i64) -> InferenceWitness {
        let m = model();
        let weights = m
            .weight_shapes()
            .iter()
            .map(|(r, c)| {
                (0..(r * c) as i64)
                    .map(|i| (i * 37 + seed) % 41 - 20)
                    .collect()
            })
            .collect();
        InferenceWitness {
            weights,
            weight_salt: Fp::from(5),
            input: (0..16).map(|i| (i * 13 + seed) % 64).collect(),
            input_salt: Fp::from(6),
            output_salt: Fp::from(7),
        }
    }

    fn run<S: InferShape>(
        c: &InferenceCircuit<S>,
        public: Vec<Fp>,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        MockProver::run(c.measure().unwrap().k, c, vec![public])
            .unwrap()
            .verify()
    }

    /// A trained-format MLP (16-bit weights) just above the compact layout's
    /// multiply-adds: it takes the lookup-lane layout, at a smaller `k` than
    /// the compact one, and proves its native output only.
    #[test]
    fn large_models_with_wide_weights_take_the_lookup_lanes() {
        let format = |f| QFormat::new(f, 16).unwrap();
        let m = QModel {
            input: format(8),
            activation: format(8),
            weight: format(12),
            layers: vec![
                QLayer::Dense {
                    inputs: 64,
                    outputs: 257,
                    activation: Some(Activation::Relu),
                },
                QLayer::Dense {
                    inputs: 257,
                    outputs: 2,
                    activation: None,
                },
            ],
        };
        assert_eq!(layout_of(&m), Layout::WideLookups);
        let mut byte_weights = m.clone();
        byte_weights.weight = QFormat::new(6, 8).unwrap();
        assert_eq!(layout_of(&byte_weights), Layout::Wide);
        assert_eq!(layout_of(&model()), Layout::Compact);
        let weights = m
            .weight_shapes()
            .iter()
            .map(|(r, c)| {
                (0..(r * c) as i64)
                    .map(|i| (i * 7919) % 4001 - 2000)
                    .collect()
            })
            .collect();
        let w = InferenceWitness {
            weights,
            weight_salt: Fp::from(5),
            input: (0..64).map(|i| (i * 29) % 512 - 256).collect(),
            input_salt: Fp::from(6),
            output_salt: Fp::from(7),
        };
        let c = InferenceCircuit::<WideLookups>::new(
            m.clone(),
            Visibility::Private,
            Visibility::Public,
            Some(w.clone()),
        )
        .unwrap();
        let compact = InferenceCircuit::<Compact>::new(
            m.clone(),
            Visibility::Private,
            Visibility::Public,
            None,
        )
        .unwrap();
        assert!(c.measure().unwrap().k < compact.measure().unwrap().k);
        let (public, y) = c.public_inputs().unwrap();
        assert_eq!(y, m.forward(&w.weights, &w.input).unwrap().pop().unwrap());
        assert_eq!(run(&c, public.clone()), Ok(()));
        let mut bad = public;
        let last = bad.len() - 1;
        bad[last] += Fp::from(1);
        assert!(run(&c, bad).is_err());
    }

    #[test]
    fn outputs_match_native_for_every_visibility() {
        for (input, output) in [
            (Visibility::Public, Visibility::Public),
            (Visibility::Private, Visibility::Public),
            (Visibility::Committed, Visibility::Committed),
        ] {
            let c =
                InferenceCircuit::<Wide>::new(model(), input, output, Some(witness(3))).unwrap();
            let (public, _) = c.public_inputs().unwrap();
            assert_eq!(run(&c, public.clone()), Ok(()), "{input:?} {output:?}");
            let c =
                InferenceCircuit::<Compact>::new(model(), input, output, Some(witness(3))).unwrap();
            assert_eq!(run(&c, public), Ok(()), "compact {input:?} {output:?}");
        }
    }

    /// A convolution without activation (negative values reach the pool)
    /// followed by 2x2 max pooling: the outputs are the windows' maxima.
    pub(crate) fn max_pool_model() -> QModel {
        let mut m = model();
        m.layers[0] = QLayer::Conv2d {
            in_channels: 1,
            out_channels: 2,
            height: 4,
            width: 4,
            kernel: [3, 3],
            stride: 1,
            padding: 1,
            activation: None,
        };
        m.layers[1] = QLayer::MaxPool2d {
            channels: 2,
            height: 4,
            width: 4,
            kernel: 2,
            stride: 2,
        };
        m.layers.truncate(2);
        m
    }

    #[test]
    fn max_pooling_proves_the_windows_maxima_only() {
        let m = max_pool_model();
        let mut w = witness(3);
        w.weights.truncate(1);
        let c = InferenceCircuit::<Compact>::new(
            m.clone(),
            Visibility::Public,
            Visibility::Public,
            Some(w.clone()),
        )
        .unwrap();
        let (public, y) = c.public_inputs().unwrap();
        assert_eq!(run(&c, public.clone()), Ok(()));
        let conv = &m.forward(&w.weights, &w.input).unwrap()[0];
        assert!(conv.iter().any(|v| *v < 0) && conv.iter().any(|v| *v > 0));
        // Each output claimed one lower, or one higher, is rejected.
        let first_out = public.len() - y.len();
        for (k, delta) in [(0, 1), (3, -1), (7, 1)] {
            let mut bad = public.clone();
            bad[first_out + k] += fp_from_i64(delta);
            assert!(run(&c, bad).is_err(), "output {k} moved by {delta}");
        }
        // Another element of the first window (not its maximum) is rejected.
        let window = [0, 1, 4, 5].map(|i| conv[i]);
        let other = window.iter().copied().find(|v| *v != y[0]).unwrap();
        let mut bad = public.clone();
        bad[first_out] = fp_from_i64(other);
        assert!(run(&c, bad).is_err());
        let c = InferenceCircuit::<Wide>::new(m, Visibility::Private, Visibility::Public, Some(w))
            .unwrap();
        let (public, _) = c.public_inputs().unwrap();
        assert_eq!(run(&c, public), Ok(()));
    }

    /// Dense 2 -> 3 and an argmax; weights `[1,0|0], [1,0|0], [0,1|0]` give
    /// logits `[x0, x0, x1]`, a tie between classes 0 and 1 when `x0 > x1`.
    pub(crate) fn argmax_model() -> (QModel, InferenceWitness) {
        let mut m = model();
        m.layers = vec![
            QLayer::Dense {
                inputs: 2,
                outputs: 3,
                activation: None,
            },
            QLayer::Argmax { inputs: 3 },
        ];
        let w = InferenceWitness {
            weights: vec![vec![64, 0, 0, 64, 0, 0, 0, 64, 0]],
            weight_salt: Fp::from(5),
            input: vec![40, 30],
            input_salt: Fp::from(6),
            output_salt: Fp::from(7),
        };
        (m, w)
    }

    #[test]
    fn argmax_proves_the_first_largest_class_only() {
        let (m, mut w) = argmax_model();
        for (input, class) in [([40, 30], 0), ([20, 30], 2), ([-5, -60], 0)] {
            w.input = input.to_vec();
            let c = InferenceCircuit::<Compact>::new(
                m.clone(),
                Visibility::Public,
                Visibility::Public,
                Some(w.clone()),
            )
            .unwrap();
            let (public, y) = c.public_inputs().unwrap();
            assert_eq!(y, vec![class]);
            assert_eq!(run(&c, public.clone()), Ok(()));
            let last = public.len() - 1;
            // Every other class is rejected, the tied second maximum included.
            for other in 0..3 {
                if other != class {
                    let mut bad = public.clone();
                    bad[last] = fp_from_i64(other);
                    assert!(run(&c, bad).is_err(), "{input:?}: class {other}");
                }
            }
            let mut bad = public;
            bad[last] = fp_from_i64(3);
            assert!(run(&c, bad).is_err(), "out of range class");
        }
        // Committed output and the wide layout.
        let c =
            InferenceCircuit::<Wide>::new(m, Visibility::Private, Visibility::Committed, Some(w))
                .unwrap();
        let (public, _) = c.public_inputs().unwrap();
        assert_eq!(run(&c, public), Ok(()));
    }

    #[test]
    fn an_out_of_range_weight_fails_its_packing_lookup() {
        use halo2_proofs::dev::{FailureLocation, VerifyFailure};
        let mut w = witness(3);
        // 200 is outside the signed 8-bit weight domain; the native commitment
        // packs it by the field formula, so only the range check can object.
        w.weights[0][0] = 200;
        let c =
            InferenceCircuit::<Wide>::new(model(), Visibility::Public, Visibility::Public, Some(w))
                .unwrap();
        let (public, _) = c.public_inputs().unwrap();
        let failures = run(&c, public).unwrap_err();
        assert!(
            failures.iter().all(|f| matches!(
                f,
                VerifyFailure::Lookup {
                    location: FailureLocation::InRegion { .. },
                    ..
                }
            )),
            "{failures:?}"
        );
    }

    #[test]
    fn wrong_output_or_commitment_is_rejected() {
        let c = InferenceCircuit::<Compact>::new(
            model(),
            Visibility::Private,
            Visibility::Public,
            Some(witness(3)),
        )
        .unwrap();
        let (public, _) = c.public_inputs().unwrap();
        let mut out = public.clone();
        let last = out.len() - 1;
        out[last] += Fp::from(1);
        assert!(run(&c, out).is_err());
        let mut cw = public;
        cw[0] += Fp::from(1);
        assert!(run(&c, cw).is_err());
    }
}
