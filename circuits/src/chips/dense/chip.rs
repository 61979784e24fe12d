//! The chip behind [`DenseInstructions`](super::DenseInstructions).

use ff::Field;
use halo2_proofs::circuit::{Chip, Layouter};
use halo2_proofs::plonk::Error;

use super::{DenseCells, DenseInstructions};
use crate::chips::dot::{DotChip, DotConfig, DotInstructions, Operand};
use crate::chips::lookup::LookupConfig;
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
    pub fn construct(dot: DotConfig, lookup: LookupConfig, limb_bits: u32) -> Self {
        Self {
            dot: DotChip::construct(dot.clone()),
            rescale: RescaleChip::construct(lookup.clone(), limb_bits),
            config: (dot, lookup),
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
