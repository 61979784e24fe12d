//! The chip behind [`DotInstructions`](super::DotInstructions).

use ff::Field;
use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Region, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use super::{DotCells, DotInstructions, Operand};
use crate::Fp;

/// Columns and gates of the MAC gadget.
#[derive(Clone, Debug)]
pub struct DotConfig {
    /// The shared vector, `width` elements a row.
    pub a: Vec<Column<Advice>>,
    /// Each lane's vector, `width` elements a row.
    pub b: Vec<Vec<Column<Advice>>>,
    /// Each lane's running sum.
    pub acc: Vec<Column<Advice>>,
    /// Enables `acc = sum a*b` on a dot product's first row.
    pub q_first: Selector,
    /// Enables `acc = acc(prev) + sum a*b` on its other rows.
    pub q_next: Selector,
    /// A fixed column with constants enabled, for padding.
    pub constants: Column<Fixed>,
}

impl DotConfig {
    /// Configures the gadget with `width` products a row in each of `lanes` lanes.
    ///
    /// Side effects: `width + lanes * width + lanes` advice columns; equality on
    /// `a` and `acc`, and on `b` when `lane_equality` is set (needed when lane
    /// vectors are copied from elsewhere, e.g. weights shared across a batch); two
    /// selectors and the gates `mac first` and `mac next` (degree 3); constants
    /// enabled on `constants`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fp>,
        width: usize,
        lanes: usize,
        lane_equality: bool,
        constants: Column<Fixed>,
    ) -> Self {
        let a: Vec<_> = (0..width).map(|_| meta.advice_column()).collect();
        let b: Vec<Vec<_>> = (0..lanes)
            .map(|_| (0..width).map(|_| meta.advice_column()).collect())
            .collect();
        let acc: Vec<_> = (0..lanes).map(|_| meta.advice_column()).collect();
        for c in a.iter().chain(acc.iter()) {
            meta.enable_equality(*c);
        }
        if lane_equality {
            for c in b.iter().flatten() {
                meta.enable_equality(*c);
            }
        }
        meta.enable_constant(constants);
        let config = Self {
            a,
            b,
            acc,
            q_first: meta.selector(),
            q_next: meta.selector(),
            constants,
        };

        let products = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fp>, g: usize| {
            let mut sum = Expression::Constant(Fp::ZERO);
            for (ac, bc) in config.a.iter().zip(config.b[g].iter()) {
                sum = sum
                    + m.query_advice(*ac, Rotation::cur()) * m.query_advice(*bc, Rotation::cur());
            }
            sum
        };
        meta.create_gate("mac first", |m| {
            let q = m.query_selector(config.q_first);
            (0..lanes)
                .map(|g| {
                    let acc = m.query_advice(config.acc[g], Rotation::cur());
                    q.clone() * (acc - products(m, g))
                })
                .collect::<Vec<_>>()
        });
        meta.create_gate("mac next", |m| {
            let q = m.query_selector(config.q_next);
            (0..lanes)
                .map(|g| {
                    let acc = m.query_advice(config.acc[g], Rotation::cur());
                    let prev = m.query_advice(config.acc[g], Rotation::prev());
                    q.clone() * (acc - prev - products(m, g))
                })
                .collect::<Vec<_>>()
        });
        config
    }

    /// Products per row per lane.
    pub fn width(&self) -> usize {
        self.a.len()
    }

    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.b.len()
    }

    /// Rows one dot product of length `n` takes.
    pub fn rows_for(&self, n: usize) -> usize {
        n.div_ceil(self.width()).max(1)
    }
}

/// The MAC gadget's chip.
#[derive(Clone, Debug)]
pub struct DotChip {
    config: DotConfig,
}

impl DotChip {
    /// Builds the chip from its configuration.
    pub fn construct(config: DotConfig) -> Self {
        Self { config }
    }
}

impl Chip<Fp> for DotChip {
    type Config = DotConfig;
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        &self.config
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

fn assign_operand(
    region: &mut Region<'_, Fp>,
    column: Column<Advice>,
    row: usize,
    op: Option<&Operand>,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    match op {
        Some(Operand::Cell(c)) => c.copy_advice(|| "copy", region, column, row),
        Some(Operand::Constant(v)) => {
            region.assign_advice_from_constant(|| "const", column, row, *v)
        }
        Some(Operand::Witness(v)) => region.assign_advice(|| "witness", column, row, || *v),
        None => region.assign_advice_from_constant(|| "pad", column, row, Fp::ZERO),
    }
}

impl DotInstructions for DotChip {
    fn dot_products(
        &self,
        layouter: &mut impl Layouter<Fp>,
        a: &[Operand],
        b: &[Vec<Operand>],
    ) -> Result<DotCells, Error> {
        let cfg = &self.config;
        let width = cfg.width();
        if b.len() > cfg.lanes() || b.iter().any(|v| v.len() != a.len()) {
            return Err(Error::Synthesis);
        }
        let rows = cfg.rows_for(a.len());
        layouter.assign_region(
            || "dot products",
            |mut region| {
                let mut shared = Vec::with_capacity(a.len());
                let mut lanes: Vec<Vec<_>> = vec![Vec::with_capacity(a.len()); b.len()];
                let mut acc_vals = vec![Value::known(Fp::ZERO); cfg.lanes()];
                let mut sums = Vec::new();
                for row in 0..rows {
                    if row == 0 {
                        cfg.q_first.enable(&mut region, row)?;
                    } else {
                        cfg.q_next.enable(&mut region, row)?;
                    }
                    let mut a_vals = Vec::with_capacity(width);
                    for k in 0..width {
                        let i = row * width + k;
                        let cell = assign_operand(&mut region, cfg.a[k], row, a.get(i))?;
                        a_vals.push(cell.value().copied());
                        if i < a.len() {
                            shared.push(cell);
                        }
                    }
                    for g in 0..cfg.lanes() {
                        let mut sum = acc_vals[g];
                        for k in 0..width {
                            let i = row * width + k;
                            let op = b.get(g).and_then(|v| v.get(i));
                            let cell = match op {
                                Some(op) => {
                                    assign_operand(&mut region, cfg.b[g][k], row, Some(op))?
                                }
                                None => region.assign_advice(
                                    || "pad",
                                    cfg.b[g][k],
                                    row,
                                    || Value::known(Fp::ZERO),
                                )?,
                            };
                            sum = sum + a_vals[k] * cell.value().copied();
                            if op.is_some() {
                                lanes[g].push(cell);
                            }
                        }
                        acc_vals[g] = sum;
                        let acc = region.assign_advice(|| "acc", cfg.acc[g], row, || sum)?;
                        if row + 1 == rows && g < b.len() {
                            sums.push(acc);
                        }
                    }
                }
                Ok(DotCells {
                    shared,
                    lanes,
                    sums,
                })
            },
        )
    }
}
