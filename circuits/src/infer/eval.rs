//! The proof of an evaluation: rows opened against a committed dataset, the
//! committed model's fixed-point forward pass and argmax on each, and the
//! confusion matrix of predicted against committed labels.
//!
//! Public inputs, in order: the dataset's Merkle root, `C_W`, a context
//! digest (binding the statement, computed by the verifier), the `C x C`
//! confusion counts (row `a` the committed label, column `b` the predicted
//! class, row-major), the indices of the circuit's `R` rows, then one flag a
//! row (1 if it counts, 0 for padding). Proven: each row is the leaf at its
//! public index under the root; the model committed in `C_W` (range-checked,
//! salted) maps its features to logits whose first largest index is the
//! prediction (or, for a model ending in an argmax, its output); and each
//! count is exactly the number of flagged rows with that label and that
//! prediction. The flags let one circuit (one verifying key) prove chunks
//! of any size up to `R`: a short last chunk repeats a row, unflagged.

use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

use super::circuit::INFER_LIMB_BITS;
use super::layers::{commit_model_weights, forward_circuit, register_layers};
use super::model::{argmax, QLayer, QModel, QWeights, MAX_ARGMAX_CLASSES};
use super::select::{argmax_of, register_argmax};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::lookup::{LookupInstructions, Piece};
use crate::chips::table::{Lookup, TableSet};
use crate::circuits::membership::{leaf_native, open_row_at, RowLayout, RowOpening};
use crate::circuits::{measure, CircuitError, Measured};
use crate::envelope::{bound, EnvelopeError, MAX_DEPTH};
use crate::fixed::FixedError;
use crate::train::commit::weights_commitment_native;
use crate::Fp;

/// The most rows one evaluation proof opens.
pub const MAX_EVAL_ROWS: usize = 1024;

/// The core shape of evaluation circuits: the training circuit's (a wide
/// MAC gadget with copyable lanes, six lookup lanes, four Poseidon lanes),
/// since an evaluation is a forward pass over opened rows.
pub const EVAL_SHAPE: CoreShape = crate::train::circuit::TRAIN_SHAPE;

/// The private inputs of an evaluation proof.
#[derive(Clone, Debug)]
pub struct EvalWitness {
    /// The model's weights.
    pub weights: QWeights,
    /// The salt of `C_W`.
    pub weight_salt: Fp,
    /// The opened rows (features then label), the circuit's capacity of
    /// them; rows from `counted` on are padding.
    pub openings: Vec<RowOpening>,
    /// How many of the rows count (the first ones).
    pub counted: usize,
    /// The context digest (public; carried here to build the public inputs).
    pub context: Fp,
}

/// The number of classes a model predicts: its argmax head's inputs, or its
/// output length.
pub fn classes_of(model: &QModel) -> usize {
    match model.layers.last() {
        Some(QLayer::Argmax { inputs }) => *inputs,
        _ => model.output_len(),
    }
}

/// The prediction of `model` on `features`: the first largest logit's index,
/// or the argmax head's output.
pub fn predict_native(
    model: &QModel,
    weights: &QWeights,
    features: &[i64],
) -> Result<usize, FixedError> {
    let out = model.forward(weights, features)?;
    let last = out.last().cloned().unwrap_or_default();
    Ok(if model.ends_in_argmax() {
        last.first().copied().unwrap_or(0) as usize
    } else {
        argmax(&last) as usize
    })
}

/// The confusion counts (`classes x classes`, row `a` the label, column `b`
/// the prediction) of `model` on rows of features followed by a label.
pub fn confusion_native(
    model: &QModel,
    weights: &QWeights,
    rows: &[Vec<i64>],
) -> Result<Vec<u64>, FixedError> {
    let c = classes_of(model);
    let n = model.input_len();
    let mut counts = vec![0u64; c * c];
    for row in rows {
        let (features, label) = (&row[..n.min(row.len())], row.get(n).copied().unwrap_or(-1));
        let predicted = predict_native(model, weights, features)?;
        let label =
            usize::try_from(label)
                .ok()
                .filter(|l| *l < c)
                .ok_or(FixedError::ShapeMismatch {
                    op: "evaluated label",
                    expected: vec![c],
                    found: vec![label.max(0) as usize],
                })?;
        counts[label * c + predicted] += 1;
    }
    Ok(counts)
}

/// An evaluation of `rows` rows as a circuit.
#[derive(Clone, Debug)]
pub struct EvalCircuit {
    model: QModel,
    layout: RowLayout,
    depth: usize,
    rows: usize,
    witness: Option<EvalWitness>,
}

impl EvalCircuit {
    /// Plans an evaluation of `rows` rows of `layout` in a tree of `depth`
    /// with `model`: the model inside the envelope, its inputs the rows'
    /// features in their bit width, at most 64 classes fitting the label
    /// bits, and a depth and row count inside their bounds.
    pub fn new(
        model: QModel,
        layout: RowLayout,
        depth: usize,
        rows: usize,
        witness: Option<EvalWitness>,
    ) -> Result<Self, CircuitError> {
        model.validate()?;
        layout.validate()?;
        let fit = |field: &str, expected: usize, found: usize| {
            if expected == found {
                return Ok(());
            }
            Err(EnvelopeError::Mismatch {
                field: field.into(),
                expected: expected as i128,
                found: found as i128,
                reason: "the dataset's rows",
            })
        };
        fit("model inputs", layout.features, model.input_len())?;
        fit(
            "bits of the model's input format",
            layout.feature_bits as usize,
            model.input.bits() as usize,
        )?;
        let classes = classes_of(&model);
        bound(
            || "classes".into(),
            classes as u64,
            1,
            MAX_ARGMAX_CLASSES.min(1 << layout.label_bits) as u64,
        )?;
        bound(|| "tree depth".into(), depth as u64, 1, MAX_DEPTH)?;
        bound(
            || "rows per proof".into(),
            rows as u64,
            1,
            MAX_EVAL_ROWS as u64,
        )?;
        if let Some(w) = &witness {
            if w.openings.len() != rows || w.counted == 0 || w.counted > rows {
                return Err(CircuitError::Shape {
                    what: "evaluated rows (capacity, counted)",
                    expected: vec![rows, rows],
                    found: vec![w.openings.len(), w.counted],
                });
            }
            for o in &w.openings {
                model.forward(&w.weights, &o.values[..layout.features.min(o.values.len())])?;
            }
        }
        Ok(Self {
            model,
            layout,
            depth,
            rows,
            witness,
        })
    }

    /// The same circuit without its witness.
    pub fn describe(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        classes_of(&self.model)
    }

    /// Number of public inputs.
    pub fn instance_len(&self) -> usize {
        3 + self.classes() * self.classes() + 2 * self.rows
    }

    /// Rows used and the smallest `k`.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        measure(&self.describe(), self.instance_len())
    }

    /// The public inputs and the confusion counts, computed natively from
    /// the witness: `[root, C_W, context, counts..., indices..., flags...]`.
    pub fn public_inputs(&self) -> Result<(Vec<Fp>, Vec<u64>), CircuitError> {
        let w = self
            .witness
            .as_ref()
            .ok_or(CircuitError::Synthesis("no witness".into()))?;
        let first = w
            .openings
            .first()
            .ok_or(CircuitError::Synthesis("no rows".into()))?;
        let root = first
            .path
            .root(leaf_native(&self.layout, first.salt, &first.values));
        let rows: Vec<Vec<i64>> = w.openings[..w.counted]
            .iter()
            .map(|o| o.values.clone())
            .collect();
        let counts = confusion_native(&self.model, &w.weights, &rows)?;
        let flat: Vec<i64> = w.weights.iter().flatten().copied().collect();
        let mut public = vec![
            root,
            weights_commitment_native(w.weight_salt, &flat, self.model.weight.bits()),
            w.context,
        ];
        public.extend(counts.iter().map(|c| Fp::from(*c)));
        public.extend(w.openings.iter().map(|o| Fp::from(o.path.index)));
        public.extend((0..self.rows).map(|r| Fp::from(u64::from(r < w.counted))));
        Ok((public, counts))
    }

    fn table(&self) -> TableSet {
        let mut set = TableSet::new();
        register_layers(&mut set, &self.model, INFER_LIMB_BITS);
        self.layout.register(&mut set);
        let c = self.classes() as u32;
        if !self.model.ends_in_argmax() {
            register_argmax(&mut set, c as usize, self.model.activation, INFER_LIMB_BITS);
        }
        for class in 0..c {
            set.add(Lookup::OneHot { class, classes: c });
        }
        set
    }
}

/// The one-hot encoding of a class cell (each entry an `OneHot` lookup).
fn one_hot(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    class: &AssignedCell<Fp, Fp>,
    classes: usize,
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    let lookup = cfg.lookup_chip();
    let value = class.value().copied();
    (0..classes)
        .map(|c| {
            let piece = Piece {
                lookup: Lookup::OneHot {
                    class: c as u32,
                    classes: classes as u32,
                },
                input: value,
                output: value.map(|v| Fp::from(u64::from(v == Fp::from(c as u64)))),
            };
            let d = lookup.decompose(layouter, class, 0, &[piece])?;
            d.outputs.first().cloned().ok_or(Error::Synthesis)
        })
        .collect()
}

impl Circuit<Fp> for EvalCircuit {
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.describe()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> CoreConfig {
        CoreConfig::configure(meta, EVAL_SHAPE)
    }

    fn synthesize(&self, cfg: CoreConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        cfg.load_table(&mut layouter, &self.table())?;
        let m = &self.model;
        let w = self.witness.as_ref();
        let c = self.classes();
        let n = self.layout.features;

        let salts = cfg.witness(
            &mut layouter.namespace(|| "salt and context"),
            &[
                w.map_or(Value::unknown(), |w| Value::known(w.weight_salt)),
                w.map_or(Value::unknown(), |w| Value::known(w.context)),
            ],
        )?;
        let committed = commit_model_weights(
            &cfg,
            &mut layouter,
            m,
            w.map(|w| &w.weights),
            &salts[0],
            INFER_LIMB_BITS,
        )?;
        cfg.expose(&mut layouter, &committed.commitment, 1)?;
        cfg.expose(&mut layouter, &salts[1], 2)?;

        let flags = cfg.witness(
            &mut layouter.namespace(|| "flags"),
            &(0..self.rows)
                .map(|r| {
                    w.map_or(Value::unknown(), |w| {
                        Value::known(Fp::from(u64::from(r < w.counted)))
                    })
                })
                .collect::<Vec<_>>(),
        )?;
        for (r, flag) in flags.iter().enumerate() {
            cfg.expose(&mut layouter, flag, 3 + c * c + self.rows + r)?;
        }
        let dot = cfg.dot_chip();
        let lanes = cfg.dot.lanes();
        let mut labels = Vec::with_capacity(self.rows);
        let mut predictions = Vec::with_capacity(self.rows);
        for (r, flag) in flags.iter().enumerate() {
            let o = w.and_then(|w| w.openings.get(r));
            let opened = open_row_at(
                &cfg,
                &mut layouter.namespace(|| format!("open row {r}")),
                &self.layout,
                self.depth,
                o,
                3 + c * c + r,
            )?;
            cfg.expose(&mut layouter, &opened.root, 0)?;
            let mut ns = layouter.namespace(|| format!("evaluate row {r}"));
            let out = forward_circuit(
                &cfg,
                &mut ns,
                m,
                &committed.cells,
                opened.values[..n].to_vec(),
                INFER_LIMB_BITS,
            )?;
            let predicted = if m.ends_in_argmax() {
                out.first().cloned().ok_or(Error::Synthesis)?
            } else {
                argmax_of(&cfg, &mut ns, &out, m.activation, INFER_LIMB_BITS)?
            };
            // The label's one-hot, times the row's flag: padding counts nowhere.
            let label = one_hot(&cfg, &mut ns, &opened.values[n], c)?;
            let mut masked = Vec::with_capacity(c);
            for group in label.chunks(lanes) {
                let b: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|e| vec![Operand::Cell(e.clone())])
                    .collect();
                masked.extend(
                    dot.dot_products(&mut ns, &[Operand::Cell(flag.clone())], &b)?
                        .sums,
                );
            }
            labels.push(masked);
            predictions.push(one_hot(&cfg, &mut ns, &predicted, c)?);
        }

        // count[a][b] = sum over rows of flag * label[a] * prediction[b].
        let mut ns = layouter.namespace(|| "confusion");
        let mut counts = Vec::with_capacity(c * c);
        for a in 0..c {
            let shared: Vec<Operand> = labels.iter().map(|l| Operand::Cell(l[a].clone())).collect();
            let columns: Vec<usize> = (0..c).collect();
            for group in columns.chunks(lanes) {
                let b: Vec<Vec<Operand>> = group
                    .iter()
                    .map(|b| {
                        predictions
                            .iter()
                            .map(|p| Operand::Cell(p[*b].clone()))
                            .collect()
                    })
                    .collect();
                counts.extend(dot.dot_products(&mut ns, &shared, &b)?.sums);
            }
        }
        drop(ns);
        for (i, count) in counts.iter().enumerate() {
            cfg.expose(&mut layouter, count, 3 + i)?;
        }
        cfg.finish(&mut layouter)
    }
}

#[cfg(test)]
mod tests {
    use ff::Field;
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::fixed::{Activation, QFormat};

    const LAYOUT: RowLayout = RowLayout {
        features: 3,
        feature_bits: 8,
        label_bits: 2,
    };

    fn model() -> QModel {
        let f = |frac, bits| QFormat::new(frac, bits).unwrap();
        QModel {
            input: f(6, 8),
            activation: f(6, 16),
            weight: f(6, 8),
            layers: vec![
                QLayer::Dense {
                    inputs: 3,
                    outputs: 4,
                    activation: Some(Activation::Relu),
                },
                QLayer::Dense {
                    inputs: 4,
                    outputs: 3,
                    activation: None,
                },
            ],
        }
    }

    fn weights(seed: i64) -> QWeights {
        model()
            .weight_shapes()
            .iter()
            .map(|(r, c)| {
                (0..(r * c) as i64)
                    .map(|i| (i * 29 + seed) % 61 - 30)
                    .collect()
            })
            .collect()
    }

    /// Eight rows (labels 0..3) in a tree of depth 3.
    fn dataset() -> Vec<RowOpening> {
        let rows: Vec<Vec<i64>> = (0..8i64)
            .map(|r| vec![(r * 37) % 128 - 64, (r * 23) % 64, 60 - r * 9, r % 3])
            .collect();
        let salts: Vec<Fp> = (0..8u64).map(|r| Fp::from(300 + r)).collect();
        crate::circuits::membership::test_openings(&LAYOUT, &rows, &salts)
    }

    fn circuit(model: QModel, weights: QWeights, picks: &[usize]) -> EvalCircuit {
        let data = dataset();
        let witness = EvalWitness {
            weights,
            weight_salt: Fp::from(11),
            openings: picks.iter().map(|i| data[*i].clone()).collect(),
            counted: picks.len(),
            context: Fp::from(12),
        };
        EvalCircuit::new(model, LAYOUT, 3, picks.len(), Some(witness)).unwrap()
    }

    fn run(c: &EvalCircuit, public: Vec<Fp>) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let k = c.measure().unwrap().k;
        MockProver::run(k, c, vec![public]).unwrap().verify()
    }

    #[test]
    fn the_counts_are_the_native_confusion_and_nothing_else() {
        let c = circuit(model(), weights(3), &[0, 5, 2, 7, 3]);
        let (public, counts) = c.public_inputs().unwrap();
        assert_eq!(counts.iter().sum::<u64>(), 5);
        assert_eq!(run(&c, public.clone()), Ok(()));
        // Any count moved by one, or one row moved to another cell, fails.
        for i in 0..9 {
            let mut bad = public.clone();
            bad[3 + i] += Fp::ONE;
            assert!(run(&c, bad).is_err(), "count {i} + 1");
        }
        let from = counts.iter().position(|n| *n > 0).unwrap();
        let to = (from + 1) % 9;
        let mut moved = public.clone();
        moved[3 + from] -= Fp::ONE;
        moved[3 + to] += Fp::ONE;
        assert!(run(&c, moved).is_err(), "a row counted in another cell");
        // Another index, another root, another model commitment, a row
        // flagged as padding.
        for (slot, what) in [
            (public.len() - 6, "index"),
            (0, "root"),
            (1, "C_W"),
            (public.len() - 1, "flag"),
        ] {
            let mut bad = public.clone();
            bad[slot] += Fp::ONE;
            assert!(run(&c, bad).is_err(), "{what}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]
        /// Random weights and rows: the circuit accepts exactly the native
        /// counts.
        #[test]
        fn random_models_and_rows_match_the_native_counts(
            seed in 0i64..1000,
            picks in proptest::collection::vec(0usize..8, 1..5),
        ) {
            let c = circuit(model(), weights(seed), &picks);
            let (public, counts) = c.public_inputs().unwrap();
            let rows: Vec<Vec<i64>> = picks.iter().map(|i| dataset()[*i].values.clone()).collect();
            proptest::prop_assert_eq!(&counts, &confusion_native(&model(), &weights(seed), &rows).unwrap());
            proptest::prop_assert_eq!(run(&c, public), Ok(()));
        }
    }

    /// Tampered witnesses: the one-hot of a committed label or of a
    /// prediction fails the table lookup; a running count fails the MAC
    /// gate; a predicted class changed as a wire fails the argmax's lookups.
    #[test]
    fn tampered_labels_predictions_and_counts_fail() {
        use crate::chips::test_utils::{assert_gate_fails, assert_named_lookup_fails};
        use crate::tamper::Witness;
        let c = circuit(model(), weights(3), &[0, 5, 2]);
        let (public, _) = c.public_inputs().unwrap();
        let k = c.measure().unwrap().k;
        let w = Witness::record(k, c, vec![public]);
        // The one-hots of row 0's label (masked by its flag, then counted),
        // its prediction (counted) and the argmax's own (its maximum).
        let one_hots: Vec<_> = w
            .find("evaluate row 0/decompose", "output")
            .into_iter()
            .filter(|e| w.reaches(e, "confusion") || w.reaches(e, "evaluate row 0/dot products"))
            .collect();
        assert_eq!(one_hots.len(), 9, "label, prediction and argmax entries");
        for e in one_hots {
            let v = Fp::ONE - e.value.unwrap();
            assert_named_lookup_fails(w.tamper(&e, v), "table lookup");
        }
        // A masked label entry, and a running count.
        let masked = w.wired("evaluate row 0/dot products", "acc", "confusion");
        assert_gate_fails(w.shift(&masked, 1), "mac");
        let count = w.nth("confusion", "acc", 0);
        assert_gate_fails(w.shift(&count, 1), "mac");
        // A flag is bound to its public input.
        let flag = w.nth("flags", "witness", 0);
        crate::chips::test_utils::assert_copy_fails(w.shift(&flag, -1));
        // The permutations (weight commitment, row openings) are
        // constrained: the circuit assigns the Poseidon schedule.
        assert_gate_fails(w.shift(&w.nth("", "aux", 3), 1), "poseidon full round");
        assert_gate_fails(w.shift(&w.nth("", "aux", 30), 1), "poseidon partial rounds");
        crate::chips::hash::tampering::assert_permutations_on_schedule(&w);
    }

    /// Padding rows (a repeated row, unflagged) count nowhere: the counts of
    /// three rows in a five-row circuit are those of the three.
    #[test]
    fn padding_rows_count_nowhere() {
        let data = dataset();
        let picks = [0usize, 5, 2, 0, 0];
        let witness = EvalWitness {
            weights: weights(3),
            weight_salt: Fp::from(11),
            openings: picks.iter().map(|i| data[*i].clone()).collect(),
            counted: 3,
            context: Fp::from(12),
        };
        let c = EvalCircuit::new(model(), LAYOUT, 3, 5, Some(witness)).unwrap();
        let (public, counts) = c.public_inputs().unwrap();
        assert_eq!(counts.iter().sum::<u64>(), 3);
        let three: Vec<Vec<i64>> = picks[..3].iter().map(|i| data[*i].values.clone()).collect();
        assert_eq!(
            counts,
            confusion_native(&model(), &weights(3), &three).unwrap()
        );
        assert_eq!(run(&c, public.clone()), Ok(()));
        // Counting a padding row is rejected.
        let mut flagged = public;
        let n = flagged.len();
        flagged[n - 1] = Fp::ONE;
        assert!(run(&c, flagged).is_err());
    }

    #[test]
    fn models_that_do_not_fit_the_rows_are_refused() {
        let mut wide = model();
        wide.layers[0] = QLayer::Dense {
            inputs: 4,
            outputs: 4,
            activation: None,
        };
        assert!(EvalCircuit::new(wide, LAYOUT, 3, 1, None).is_err());
        let mut classes = model();
        classes.layers[1] = QLayer::Dense {
            inputs: 4,
            outputs: 5,
            activation: None,
        };
        assert!(
            EvalCircuit::new(classes, LAYOUT, 3, 1, None).is_err(),
            "5 classes, 2-bit labels"
        );
        assert!(EvalCircuit::new(model(), LAYOUT, 41, 1, None).is_err());
        assert!(EvalCircuit::new(model(), LAYOUT, 3, 0, None).is_err());
    }
}
