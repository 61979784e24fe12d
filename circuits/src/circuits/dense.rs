//! A benchmark circuit: one dense layer with public input rows and outputs
//! and free private weights and bias.
//!
//! Public inputs, in order: the input rows (row-major), then the outputs
//! (row-major), each a signed integer in the field.
//!
//! This is not a statement. Its weights and bias are witnessed without any
//! commitment, so a proof only says that *some* weights map these inputs to
//! these outputs, which is nearly always true. It exists to measure the MAC
//! gadget, the rescale and the activation lookups in isolation (`zkpot bench
//! dense`, `benches/dense.rs`); no proof envelope names it and no verifier
//! accepts it. Statements about a model use the inference circuit, whose
//! weights are bound to `C_W`.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

use super::{measure, CircuitError, Measured};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::dense::{register_dense, DenseInstructions};
use crate::chips::dot::Operand;
use crate::chips::table::{Lookup, TableSet};
use crate::field::fp_from_i64;
use crate::fixed::{ops, DenseSpec, QTensor};
use crate::Fp;

/// The private and public values of a dense-layer proof.
#[derive(Clone, Debug)]
pub struct DenseWitness {
    /// Inputs, `batch x inputs`.
    pub x: QTensor,
    /// Weights, `outputs x inputs`.
    pub w: QTensor,
    /// Bias, `outputs`, at the accumulator scale.
    pub bias: Option<QTensor>,
}

/// One dense layer as a benchmark circuit (free weights: not a statement).
/// `WIDTH` and `LANES` fix the MAC gadget's shape; `BATCHED` enables the copy
/// constraints that share weights across batch rows (a batch above one needs
/// it).
#[derive(Clone, Debug)]
pub struct DenseBenchCircuit<
    const WIDTH: usize = 8,
    const LANES: usize = 4,
    const BATCHED: bool = false,
> {
    spec: DenseSpec,
    batch: usize,
    has_bias: bool,
    limb_bits: u32,
    witness: Option<DenseWitness>,
}

impl<const WIDTH: usize, const LANES: usize, const BATCHED: bool>
    DenseBenchCircuit<WIDTH, LANES, BATCHED>
{
    /// The MAC shape of this circuit type.
    pub const SHAPE: CoreShape = CoreShape {
        width: WIDTH,
        lanes: LANES,
        lane_equality: BATCHED,
        lookup_lanes: 1,
        hash_lanes: 0,
        pack_lanes: 0,
    };

    /// Plans a dense-layer circuit; `witness` is `None` for key generation.
    pub fn new(
        spec: DenseSpec,
        batch: usize,
        has_bias: bool,
        limb_bits: u32,
        witness: Option<DenseWitness>,
    ) -> Result<Self, CircuitError> {
        spec.shift()?;
        if batch == 0 || (batch > 1 && !BATCHED) {
            return Err(CircuitError::Shape {
                what: "batch (above one needs the BATCHED circuit type)",
                expected: vec![1],
                found: vec![batch],
            });
        }
        if limb_bits == 0 || limb_bits > Lookup::MAX_BITS {
            return Err(CircuitError::LookupTooWide {
                bits: limb_bits,
                max: Lookup::MAX_BITS,
            });
        }
        if spec.activation.is_some() && spec.output_format.bits() > Lookup::MAX_BITS {
            return Err(CircuitError::LookupTooWide {
                bits: spec.output_format.bits(),
                max: Lookup::MAX_BITS,
            });
        }
        if let Some(w) = &witness {
            let expect = |what, t: &QTensor, shape: Vec<usize>| {
                if t.shape() != shape.as_slice() {
                    Err(CircuitError::Shape {
                        what,
                        expected: shape,
                        found: t.shape().to_vec(),
                    })
                } else {
                    Ok(())
                }
            };
            expect("input", &w.x, vec![batch, spec.inputs])?;
            expect("weights", &w.w, vec![spec.outputs, spec.inputs])?;
            match (&w.bias, has_bias) {
                (Some(b), true) => expect("bias", b, vec![spec.outputs])?,
                (None, false) => {}
                _ => {
                    return Err(CircuitError::Shape {
                        what: "bias",
                        expected: if has_bias { vec![spec.outputs] } else { vec![] },
                        found: w
                            .bias
                            .as_ref()
                            .map(|b| b.shape().to_vec())
                            .unwrap_or_default(),
                    })
                }
            }
            // Fails with the offending value if the layer overflows its output format.
            ops::dense(&spec, &w.x, &w.w, w.bias.as_ref())?;
        }
        Ok(Self {
            spec,
            batch,
            has_bias,
            limb_bits,
            witness,
        })
    }

    /// The layer's description.
    pub fn spec(&self) -> &DenseSpec {
        &self.spec
    }

    /// The same circuit without its witness, for key generation.
    pub fn describe(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    /// The lookups the table holds.
    pub fn table_set(&self) -> TableSet {
        let mut set = TableSet::new();
        // `new` validated the spec, so registering cannot fail.
        let _ = register_dense(&mut set, &self.spec, self.limb_bits);
        set
    }

    /// Rows used and the smallest `k`, measured by laying the circuit out.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        measure(
            &self.describe(),
            self.batch * (self.spec.inputs + self.spec.outputs),
        )
    }

    /// The smallest `k` this circuit fits.
    pub fn k(&self) -> Result<u32, CircuitError> {
        Ok(self.measure()?.k)
    }

    /// The public inputs: input rows then outputs. `None` without a witness.
    pub fn public_inputs(&self) -> Option<Vec<Fp>> {
        let w = self.witness.as_ref()?;
        let y = ops::dense(&self.spec, &w.x, &w.w, w.bias.as_ref()).ok()?;
        Some(
            w.x.values()
                .iter()
                .chain(y.values().iter())
                .map(|v| fp_from_i64(*v))
                .collect(),
        )
    }

    fn values(&self, f: impl Fn(&DenseWitness) -> Option<&QTensor>, len: usize) -> Vec<Value<Fp>> {
        match self.witness.as_ref().and_then(f) {
            Some(t) => t
                .values()
                .iter()
                .map(|v| Value::known(fp_from_i64(*v)))
                .collect(),
            None => vec![Value::unknown(); len],
        }
    }
}

impl<const WIDTH: usize, const LANES: usize, const BATCHED: bool> Circuit<Fp>
    for DenseBenchCircuit<WIDTH, LANES, BATCHED>
{
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.describe()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
        CoreConfig::configure(meta, Self::SHAPE)
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        config.load_table(&mut layouter, &self.table_set())?;
        let (i, o) = (self.spec.inputs, self.spec.outputs);
        let x = self.values(|w| Some(&w.x), self.batch * i);
        let w = self.values(|w| Some(&w.w), o * i);
        let b = self.values(|w| w.bias.as_ref(), o);
        let x_ops: Vec<Vec<Operand>> = x
            .chunks(i.max(1))
            .map(|r| r.iter().map(|v| Operand::Witness(*v)).collect())
            .collect();
        let w_ops: Vec<Vec<Operand>> = w
            .chunks(i.max(1))
            .map(|r| r.iter().map(|v| Operand::Witness(*v)).collect())
            .collect();
        let b_ops: Vec<Operand> = b.iter().map(|v| Operand::Witness(*v)).collect();
        let chip = config.dense_chip(self.limb_bits);
        let cells = chip.dense(
            &mut layouter,
            &self.spec,
            &x_ops,
            &w_ops,
            self.has_bias.then_some(b_ops.as_slice()),
        )?;
        let public = cells
            .inputs
            .iter()
            .flatten()
            .chain(cells.outputs.iter().flatten());
        for (row, cell) in public.enumerate() {
            config.expose(&mut layouter, cell, row)?;
        }
        config.finish(&mut layouter)
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::fixed::{Activation, QFormat};

    fn spec(inputs: usize, outputs: usize) -> DenseSpec {
        let f = QFormat::new(5, 10).unwrap();
        DenseSpec {
            inputs,
            outputs,
            input_format: f,
            weight_format: f,
            output_format: f,
            activation: Some(Activation::Relu),
        }
    }

    fn witness(s: &DenseSpec, batch: usize) -> DenseWitness {
        let f = s.input_format;
        let n = s.inputs * s.outputs;
        DenseWitness {
            x: QTensor::from_vec(
                &[batch, s.inputs],
                (0..batch * s.inputs)
                    .map(|i| (i as i64 % 50) - 20)
                    .collect(),
                f,
                "x",
            )
            .unwrap(),
            w: QTensor::from_vec(
                &[s.outputs, s.inputs],
                (0..n).map(|i| (i as i64 * 7 % 11) - 5).collect(),
                f,
                "w",
            )
            .unwrap(),
            bias: Some(
                QTensor::from_vec(
                    &[s.outputs],
                    (0..s.outputs as i64).map(|i| i * 13 - 40).collect(),
                    s.bias_format().unwrap(),
                    "b",
                )
                .unwrap(),
            ),
        }
    }

    #[test]
    fn planned_k_fits_and_outputs_match() {
        let s = spec(20, 9);
        let c = DenseBenchCircuit::<8, 4>::new(s, 1, true, 8, Some(witness(&s, 1))).unwrap();
        let k = c.k().unwrap();
        let pi = c.public_inputs().unwrap();
        let p = MockProver::run(k, &c, vec![pi.clone()]).unwrap();
        assert_eq!(p.verify(), Ok(()));
        // One changed output is rejected.
        let mut bad = pi;
        let last = bad.len() - 1;
        bad[last] += Fp::from(1);
        assert!(MockProver::run(k, &c, vec![bad]).unwrap().verify().is_err());
    }

    #[test]
    fn batches_need_the_batched_type() {
        let s = spec(4, 3);
        assert!(DenseBenchCircuit::<8, 4>::new(s, 2, true, 8, Some(witness(&s, 2))).is_err());
        let c = DenseBenchCircuit::<8, 4, true>::new(s, 2, true, 8, Some(witness(&s, 2))).unwrap();
        let p = MockProver::run(c.k().unwrap(), &c, vec![c.public_inputs().unwrap()]).unwrap();
        assert_eq!(p.verify(), Ok(()));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let s = spec(4, 3);
        let mut w = witness(&s, 1);
        w.w = QTensor::from_vec(&[2, 4], vec![0; 8], s.weight_format, "w").unwrap();
        assert!(matches!(
            DenseBenchCircuit::<8, 4>::new(s, 1, true, 8, Some(w)),
            Err(CircuitError::Shape {
                what: "weights",
                ..
            })
        ));
    }
}
