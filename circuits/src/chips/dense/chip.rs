//! The chip behind [`DenseInstructions`](super::DenseInstructions).

use ff::Field;
use halo2_proofs::circuit::{Chip, Layouter};
use halo2_proofs::plonk::Error;

use super::{DenseCells, DenseInstructions};
use crate::chips::dot::{DotChip, DotConfig, DotInstructions, Operand};
use crate::chips::lookup::{LookupChip, LookupConfig};
use crate::chips::rescale::{RescaleChip, RescaleInstructions};
use crate::fixed::DenseSpec;
use crate::Fp;

/// A dense layer over the MAC and rescale gadgets.
#[derive(Clone, Debug)]
pub struct DenseChip {
    dot: DotChip,
    rescale: RescaleChip,
    config: (DotConfig, LookupConfig),
}

impl DenseChip {
    /// Builds the chip from the MAC and lookup configurations.
    pub fn construct(dot: DotConfig, lookup: LookupChip, limb_bits: u32) -> Self {
        let config = (dot.clone(), lookup.config().clone());
        Self {
            dot: DotChip::construct(dot),
            rescale: RescaleChip::construct(lookup, limb_bits),
            config,
        }
    }
}

impl Chip<Fp> for DenseChip {
    type Config = (DotConfig, LookupConfig);
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        &self.config
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

impl DenseInstructions for DenseChip {
    fn dense(
        &self,
        layouter: &mut impl Layouter<Fp>,
        spec: &DenseSpec,
        x: &[Vec<Operand>],
        w: &[Vec<Operand>],
        bias: Option<&[Operand]>,
    ) -> Result<DenseCells, Error> {
        let shift = spec.shift().map_err(|_| Error::Synthesis)?;
        if w.len() != spec.outputs
            || w.iter().any(|r| r.len() != spec.inputs)
            || x.iter().any(|r| r.len() != spec.inputs)
            || bias.is_some_and(|b| b.len() != spec.outputs)
        {
            return Err(Error::Synthesis);
        }
        let lanes = self.config.0.lanes();
        let mut cells = DenseCells {
            inputs: vec![],
            weights: vec![vec![]; spec.outputs],
            bias: vec![],
            pre_activation: vec![],
            outputs: vec![],
        };
        // Weights (and bias) are fresh on the first batch row and copied afterwards.
        let mut w_ops: Vec<Vec<Operand>> = w
            .iter()
            .enumerate()
            .map(|(o, row)| {
                let mut row = row.clone();
                if let Some(b) = bias {
                    row.push(b[o].clone());
                }
                row
            })
            .collect();
        for xrow in x {
            let mut a: Vec<Operand> = xrow.clone();
            if bias.is_some() {
                a.push(Operand::Constant(Fp::ONE));
            }
            let first_row = cells.inputs.is_empty();
            let mut pre = Vec::with_capacity(spec.outputs);
            let mut out = Vec::with_capacity(spec.outputs);
            for (gi, group) in w_ops.chunks_mut(lanes).enumerate() {
                let dc = self.dot.dot_products(layouter, &a, group)?;
                if gi == 0 {
                    // Later groups copy the input cells this region assigned.
                    cells.inputs.push(dc.shared[..spec.inputs].to_vec());
                    a = dc.shared.iter().cloned().map(Operand::Cell).collect();
                }
                for (j, lane) in dc.lanes.iter().enumerate() {
                    let o = gi * lanes + j;
                    if first_row {
                        cells.weights[o] = lane[..spec.inputs].to_vec();
                        if bias.is_some() {
                            cells.bias.push(lane[spec.inputs].clone());
                        }
                    }
                    group[j] = lane.iter().cloned().map(Operand::Cell).collect();
                }
                for sum in &dc.sums {
                    let r = self.rescale.rescale(
                        layouter,
                        sum,
                        shift,
                        spec.output_format,
                        spec.activation,
                    )?;
                    pre.push(r.q);
                    out.push(r.y);
                }
            }
            cells.pre_activation.push(pre);
            cells.outputs.push(out);
        }
        Ok(cells)
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;
    use proptest::prelude::*;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::dense::register_dense;
    use crate::chips::table::TableSet;
    use crate::chips::test_utils::{assert_copy_fails, mock, Synth};
    use crate::field::fp_from_i64;
    use crate::fixed::{ops, Activation, QFormat, QTensor};

    #[derive(Clone)]
    struct Layer {
        spec: DenseSpec,
        x: QTensor,
        w: QTensor,
        b: Option<QTensor>,
    }

    impl Synth for Layer {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_dense(&mut set, &self.spec, 6).expect("valid spec");
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let ops_of = |t: &QTensor| -> Vec<Vec<Operand>> {
                let cols = *t.shape().last().unwrap_or(&1);
                t.values()
                    .iter()
                    .map(|v| Operand::Witness(Value::known(fp_from_i64(*v))))
                    .collect::<Vec<_>>()
                    .chunks(cols.max(1))
                    .map(|c| c.to_vec())
                    .collect()
            };
            let bias: Option<Vec<Operand>> = self.b.as_ref().map(|b| ops_of(b).concat());
            let cells = cfg.dense_chip(6).dense(
                layouter,
                &self.spec,
                &ops_of(&self.x),
                &ops_of(&self.w),
                bias.as_deref(),
            )?;
            for (i, y) in cells.outputs.iter().flatten().enumerate() {
                cfg.expose(layouter, y, i)?;
            }
            Ok(())
        }
    }

    fn layer(
        batch: usize,
        inputs: usize,
        outputs: usize,
        act: Option<Activation>,
        seed: u64,
        bias: bool,
    ) -> Layer {
        let f = QFormat::new(4, 10).unwrap();
        let spec = DenseSpec {
            inputs,
            outputs,
            input_format: f,
            weight_format: f,
            output_format: f,
            activation: act,
        };
        let mut s = seed;
        let mut rnd = |m: i64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as i64 % (2 * m + 1)) - m
        };
        let x = QTensor::from_vec(
            &[batch, inputs],
            (0..batch * inputs).map(|_| rnd(40)).collect(),
            f,
            "x",
        )
        .unwrap();
        let w = QTensor::from_vec(
            &[outputs, inputs],
            (0..outputs * inputs).map(|_| rnd(8)).collect(),
            f,
            "w",
        )
        .unwrap();
        let b = bias.then(|| {
            QTensor::from_vec(
                &[outputs],
                (0..outputs).map(|_| rnd(300)).collect(),
                spec.bias_format().unwrap(),
                "b",
            )
            .unwrap()
        });
        Layer { spec, x, w, b }
    }

    fn expected(l: &Layer) -> Option<Vec<Fp>> {
        let y = ops::dense(&l.spec, &l.x, &l.w, l.b.as_ref()).ok()?;
        Some(y.values().iter().map(|v| fp_from_i64(*v)).collect())
    }

    #[test]
    fn batch_of_two_matches_native() {
        let l = layer(2, 7, 5, Some(Activation::Relu), 1, true);
        let want = expected(&l).expect("fits");
        assert_eq!(mock(11, l, want), Ok(()));
    }

    #[test]
    fn changed_output_is_rejected() {
        let l = layer(1, 4, 3, None, 2, true);
        let mut want = expected(&l).expect("fits");
        want[1] += Fp::from(1);
        assert_copy_fails(mock(11, l, want));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn random_layers_match_native(
            batch in 1usize..3,
            inputs in 1usize..9,
            outputs in 1usize..6,
            act in prop_oneof![Just(None), Just(Some(Activation::Relu)), Just(Some(Activation::Sigmoid))],
            bias in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let l = layer(batch, inputs, outputs, act, seed, bias);
            let want = expected(&l);
            prop_assume!(want.is_some());
            prop_assert_eq!(mock(11, l, want.unwrap_or_default()), Ok(()));
        }
    }
}
