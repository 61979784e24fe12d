//! The proof of `s` consecutive SGD steps.
//!
//! Public inputs, in order: the dataset root, `C_{W_t}`, `C_{W_{t+s}}`, a
//! context digest (binding the spec, dataset, beacon and step index, computed by
//! the verifier), then the `s * B` row indices of the steps in order. Proven:
//! the weights committed in `C_{W_t}` (range-checked, salted) trained for `s`
//! fixed-point SGD steps, each on the rows opened at its public indices under
//! the root, give the weights committed in `C_{W_{t+s}}`. Weights between the
//! steps stay in the circuit.

use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

use super::commit::{commit_weights, weights_commitment_native, witness_weights};
use super::native::{sgd_step, MlpParams};
use super::spec::TrainSpec;
use super::step::{register_step, sgd_step_circuit, RowCells};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::table::TableSet;
use crate::circuits::membership::{leaf_native, open_row_at, RowLayout, RowOpening};
use crate::circuits::{measure, CircuitError, Measured};
use crate::envelope::{bound, MAX_DEPTH};
use crate::Fp;

/// The private inputs of a step proof.
#[derive(Clone, Debug)]
pub struct StepWitness {
    /// The weights `W_t`.
    pub params: MlpParams,
    /// The salt of `C_{W_t}`.
    pub salt_in: Fp,
    /// The salt of `C_{W_{t+s}}`.
    pub salt_out: Fp,
    /// The opened rows, `s * B` of them, step by step.
    pub openings: Vec<RowOpening>,
    /// The context digest (public; carried here to build the public inputs).
    pub context: Fp,
}

/// The core shape of training circuits: a wide MAC gadget with copyable lanes,
/// lookup and Poseidon lanes side by side.
pub const TRAIN_SHAPE: CoreShape = CoreShape {
    width: 9,
    lanes: 4,
    lane_equality: true,
    lookup_lanes: 6,
    hash_lanes: 4,
    pack_lanes: 0,
};

/// The limb width of training circuits' range checks.
pub const TRAIN_LIMB_BITS: u32 = 8;

/// The largest `k` a training proof may need: memory grows as `2^k` (about
/// 0.6 GiB at `k = 12`), so `k = 16` stays near 10 GiB.
pub const TRAIN_MAX_K: u32 = 16;

/// The most steps one proof may cover.
pub const MAX_STEPS_PER_PROOF: u64 = 1024;

/// The most multiply-adds of one proof's forward passes (steps x batch x
/// one pass's: an MLP's parameters, a convolution's weights times its output
/// positions). Each of a step's three passes (forward, backward, update)
/// takes at least that many products and the MAC gadget computes 36 a row,
/// so a proof above `12 * 2^16` of them cannot fit [`TRAIN_MAX_K`]: the bound
/// refuses no provable statement and keeps planning a refused one cheap.
pub const MAX_PROOF_WORK: u64 = 1 << 20;

/// `s` SGD steps as a circuit.
#[derive(Clone, Debug)]
pub struct TrainStepCircuit {
    spec: TrainSpec,
    layout: RowLayout,
    depth: usize,
    steps: usize,
    witness: Option<StepWitness>,
}

impl TrainStepCircuit {
    /// Plans a circuit proving `steps` steps of `spec` on rows of `layout` in a
    /// tree of `depth`.
    pub fn new(
        spec: TrainSpec,
        layout: RowLayout,
        depth: usize,
        steps: usize,
        witness: Option<StepWitness>,
    ) -> Result<Self, CircuitError> {
        spec.validate()?;
        layout.validate()?;
        if layout.features != spec.input_len() {
            return Err(CircuitError::Shape {
                what: "dataset features vs model inputs",
                expected: vec![spec.input_len()],
                found: vec![layout.features],
            });
        }
        let classes = spec.classes();
        if (1u64 << layout.label_bits) < classes as u64 {
            return Err(CircuitError::Shape {
                what: "classes (fitting the label bits)",
                expected: vec![1usize << layout.label_bits],
                found: vec![classes],
            });
        }
        bound(|| "tree depth".into(), depth as u64, 1, MAX_DEPTH)?;
        bound(
            || "steps per proof".into(),
            steps as u64,
            1,
            MAX_STEPS_PER_PROOF,
        )?;
        bound(
            || "multiply-adds of one proof (steps x batch x one forward pass's)".into(),
            steps as i128 * spec.batch as i128 * spec.model().macs() as i128,
            1,
            MAX_PROOF_WORK,
        )?;
        if let Some(w) = &witness {
            if w.openings.len() != steps * spec.batch || !w.params.fits(&spec) {
                return Err(CircuitError::Shape {
                    what: "step witness (openings, parameters)",
                    expected: vec![steps * spec.batch, spec.n_params()],
                    found: vec![w.openings.len(), w.params.flatten().len()],
                });
            }
        }
        Ok(Self {
            spec,
            layout,
            depth,
            steps,
            witness,
        })
    }

    /// The spec it proves.
    pub fn spec(&self) -> &TrainSpec {
        &self.spec
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
        4 + self.steps * self.spec.batch
    }

    /// Rows used and the smallest `k`. Refuses circuits above [`TRAIN_MAX_K`].
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        let m = measure(&self.describe(), self.instance_len())?;
        if m.k > TRAIN_MAX_K {
            return Err(CircuitError::TooLarge {
                rows: m.rows,
                max_k: TRAIN_MAX_K,
            });
        }
        Ok(m)
    }

    /// The public inputs and the weights `W_{t+s}`, computed natively from the
    /// witness: `[root, C_in, C_out, context, indices...]`.
    pub fn public_inputs(&self) -> Result<(Vec<Fp>, MlpParams), CircuitError> {
        let w = self
            .witness
            .as_ref()
            .ok_or(CircuitError::Synthesis("no witness".into()))?;
        let bits = self.spec.formats.weight.bits();
        let first = w
            .openings
            .first()
            .ok_or(CircuitError::Synthesis("no rows".into()))?;
        let root = first
            .path
            .root(leaf_native(&self.layout, first.salt, &first.values));
        let mut params = w.params.clone();
        for step in w.openings.chunks(self.spec.batch) {
            let batch: Vec<Vec<i64>> = step.iter().map(|o| o.values.clone()).collect();
            params = sgd_step(&self.spec, &params, &batch)
                .map_err(CircuitError::Fixed)?
                .0;
        }
        let mut public = vec![
            root,
            weights_commitment_native(w.salt_in, &w.params.flatten(), bits),
            weights_commitment_native(w.salt_out, &params.flatten(), bits),
            w.context,
        ];
        public.extend(w.openings.iter().map(|o| Fp::from(o.path.index)));
        Ok((public, params))
    }

    fn table(&self) -> TableSet {
        let mut set = TableSet::new();
        register_step(&mut set, &self.spec, TRAIN_LIMB_BITS);
        self.layout.register(&mut set);
        set
    }
}

impl Circuit<Fp> for TrainStepCircuit {
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.describe()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> CoreConfig {
        CoreConfig::configure(meta, TRAIN_SHAPE)
    }

    fn synthesize(&self, cfg: CoreConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        cfg.load_table(&mut layouter, &self.table())?;
        let spec = &self.spec;
        let w = self.witness.as_ref();
        let bits = spec.formats.weight.bits();

        // W_t: range-checked cells, committed as C_in.
        let flat: Vec<Value<i64>> = match w {
            Some(w) => w.params.flatten().into_iter().map(Value::known).collect(),
            None => vec![Value::unknown(); spec.n_params()],
        };
        let flat_cells = witness_weights(
            &cfg,
            &mut layouter.namespace(|| "weights in"),
            &flat,
            bits,
            TRAIN_LIMB_BITS,
        )?;
        let salts = cfg.witness(
            &mut layouter.namespace(|| "salts and context"),
            &[
                w.map_or(Value::unknown(), |w| Value::known(w.salt_in)),
                w.map_or(Value::unknown(), |w| Value::known(w.salt_out)),
                w.map_or(Value::unknown(), |w| Value::known(w.context)),
            ],
        )?;
        let c_in = commit_weights(
            &cfg,
            &mut layouter.namespace(|| "commit in"),
            &salts[0],
            &flat_cells,
            bits,
        )?;
        cfg.expose(&mut layouter, &c_in, 1)?;
        cfg.expose(&mut layouter, &salts[2], 3)?;

        let mut weights = split_layers(spec, flat_cells);
        let n = self.layout.features;
        for step in 0..self.steps {
            let mut rows = Vec::with_capacity(spec.batch);
            for i in 0..spec.batch {
                let k = step * spec.batch + i;
                let o = w.and_then(|w| w.openings.get(k));
                let opened = open_row_at(
                    &cfg,
                    &mut layouter.namespace(|| format!("open row {k}")),
                    &self.layout,
                    self.depth,
                    o,
                    4 + k,
                )?;
                cfg.expose(&mut layouter, &opened.root, 0)?;
                rows.push(RowCells {
                    features: opened.values[..n].to_vec(),
                    label: opened.values[n].clone(),
                });
            }
            weights =
                sgd_step_circuit(&cfg, &mut layouter, spec, TRAIN_LIMB_BITS, &weights, &rows)?;
        }

        let out: Vec<AssignedCell<Fp, Fp>> = weights.into_iter().flatten().collect();
        let c_out = commit_weights(
            &cfg,
            &mut layouter.namespace(|| "commit out"),
            &salts[1],
            &out,
            bits,
        )?;
        cfg.expose(&mut layouter, &c_out, 2)?;
        cfg.finish(&mut layouter)
    }
}

fn split_layers(
    spec: &TrainSpec,
    flat: Vec<AssignedCell<Fp, Fp>>,
) -> Vec<Vec<AssignedCell<Fp, Fp>>> {
    let shapes = spec.model().weight_shapes();
    let mut out = Vec::with_capacity(shapes.len());
    let mut it = flat.into_iter();
    for (rows, cols) in shapes {
        out.push(it.by_ref().take(rows * cols).collect());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::fixed::QFormat;
    use crate::train::native::init_params;
    use crate::train::spec::{Loss, TrainFormats};

    pub(crate) const LAYOUT: RowLayout = RowLayout {
        features: 3,
        feature_bits: 8,
        label_bits: 1,
    };

    pub(crate) fn spec() -> TrainSpec {
        TrainSpec {
            widths: vec![3, 4, 2],
            conv: None,
            loss: Loss::Mse,
            lr_num: 32,
            lr_shift: 8,
            batch: 2,
            formats: TrainFormats::for_input(QFormat::new(6, 8).unwrap()),
        }
    }

    /// Eight rows in a tree of depth 3; returns the openings.
    pub(crate) fn dataset() -> Vec<RowOpening> {
        let rows: Vec<Vec<i64>> = (0..8i64)
            .map(|r| vec![(r * 9) % 64, (r * 23) % 64, 64 - r * 5, r % 2])
            .collect();
        let salts: Vec<Fp> = (0..8u64).map(|r| Fp::from(77 + r)).collect();
        crate::circuits::membership::test_openings(&LAYOUT, &rows, &salts)
    }

    pub(crate) fn circuit(steps: usize, picks: &[usize]) -> TrainStepCircuit {
        let data = dataset();
        let witness = StepWitness {
            params: init_params(&spec(), 5),
            salt_in: Fp::from(1234),
            salt_out: Fp::from(5678),
            openings: picks.iter().map(|i| data[*i].clone()).collect(),
            context: Fp::from(99),
        };
        TrainStepCircuit::new(spec(), LAYOUT, 3, steps, Some(witness)).unwrap()
    }

    fn run(
        c: &TrainStepCircuit,
        public: Vec<Fp>,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let k = c.measure().unwrap().k;
        MockProver::run(k, c, vec![public]).unwrap().verify()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
        /// Random small models (softmax regression or one or two hidden
        /// layers), losses, learning rates, initial weights and batches: the
        /// circuit accepts exactly the native trainer's `C_out`.
        #[test]
        fn random_steps_match_the_native_trainer(
            hidden in proptest::collection::vec(1usize..=4, 0..=2),
            cross_entropy: bool,
            lr_log in 3u32..=6,
            seed: u64,
            picks in proptest::collection::vec(0usize..8, 2),
        ) {
            let mut spec = spec();
            spec.widths = std::iter::once(3).chain(hidden).chain([2]).collect();
            spec.loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Mse };
            spec.lr_num = 1 << lr_log;
            proptest::prop_assume!(spec.validate().is_ok());
            let data = dataset();
            let witness = StepWitness {
                params: init_params(&spec, seed),
                salt_in: Fp::from(seed),
                salt_out: Fp::from(seed ^ 1),
                openings: picks.iter().map(|i| data[*i].clone()).collect(),
                context: Fp::from(7),
            };
            let c = TrainStepCircuit::new(spec, LAYOUT, 3, 1, Some(witness)).unwrap();
            // A step that overflows its formats is an error, not a proof.
            let Ok((public, _)) = c.public_inputs() else {
                return Ok(());
            };
            proptest::prop_assert_eq!(run(&c, public.clone()), Ok(()));
            let mut wrong = public;
            wrong[2] += Fp::from(1);
            proptest::prop_assert!(run(&c, wrong).is_err());
        }
    }

    /// At depth 255 the index bits of `i + p` pass the gates: the tree depth
    /// is bounded so the bits of an index are unique.
    #[test]
    fn trees_deeper_than_supported_are_refused() {
        for depth in [41usize, 255, 300] {
            assert!(
                TrainStepCircuit::new(spec(), LAYOUT, depth, 1, None).is_err(),
                "depth {depth}"
            );
        }
    }

    #[test]
    fn one_and_two_steps_match_the_native_trainer() {
        for (steps, picks) in [(1usize, vec![1usize, 6]), (2, vec![0, 5, 3, 3])] {
            let c = circuit(steps, &picks);
            let (public, _) = c.public_inputs().unwrap();
            assert_eq!(run(&c, public), Ok(()), "{steps} steps");
        }
    }

    #[test]
    fn cross_entropy_steps_match_the_native_trainer() {
        let data = dataset();
        let mut ce = spec();
        ce.loss = crate::train::spec::Loss::CrossEntropy;
        let witness = StepWitness {
            params: init_params(&ce, 5),
            salt_in: Fp::from(1),
            salt_out: Fp::from(2),
            openings: vec![data[4].clone(), data[1].clone()],
            context: Fp::from(3),
        };
        let c = TrainStepCircuit::new(ce, LAYOUT, 3, 1, Some(witness)).unwrap();
        let (public, _) = c.public_inputs().unwrap();
        assert_eq!(run(&c, public.clone()), Ok(()));
        // The MSE result is not accepted for a cross-entropy statement.
        let mse = circuit(1, &[4, 1]);
        let (mse_public, _) = mse.public_inputs().unwrap();
        let mut claimed = public;
        claimed[2] = mse_public[2];
        assert!(run(&c, claimed).is_err());
    }

    #[test]
    fn wrong_claims_are_rejected() {
        let c = circuit(1, &[2, 7]);
        let (public, params) = c.public_inputs().unwrap();
        let bits = spec().formats.weight.bits();
        // An output commitment of weights that skipped the update.
        let mut skipped = public.clone();
        skipped[2] =
            weights_commitment_native(Fp::from(5678), &init_params(&spec(), 5).flatten(), bits);
        assert!(run(&c, skipped).is_err(), "skipped update");
        // One changed weight.
        let mut flat = params.flatten();
        flat[3] += 1;
        let mut changed = public.clone();
        changed[2] = weights_commitment_native(Fp::from(5678), &flat, bits);
        assert!(run(&c, changed).is_err(), "changed weight");
        // Another index than the one opened.
        let mut index = public.clone();
        index[4] = Fp::from(3);
        assert!(run(&c, index).is_err(), "other index");
        // Another root.
        let mut root = public;
        root[0] += Fp::from(1);
        assert!(run(&c, root).is_err(), "other root");
    }

    #[test]
    fn a_different_learning_rate_gives_another_commitment() {
        let c = circuit(1, &[2, 7]);
        let (public, _) = c.public_inputs().unwrap();
        let mut fast = spec();
        fast.lr_num = 64;
        let w = c.witness.clone().unwrap();
        let other = TrainStepCircuit::new(fast, LAYOUT, 3, 1, Some(w)).unwrap();
        let (other_public, _) = other.public_inputs().unwrap();
        assert_ne!(public[2], other_public[2]);
        // The circuit for the declared rate does not accept the other rate's result.
        let mut claimed = public;
        claimed[2] = other_public[2];
        assert!(run(&c, claimed).is_err());
    }
}
