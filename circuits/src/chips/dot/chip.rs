//! The chip behind [`DotInstructions`](super::DotInstructions).

use ff::Field;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ff::PrimeField;
use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Region, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use super::{DotCells, DotInstructions, Operand};
use crate::chips::constraints;
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
        constraints::gate(meta, "mac first", |m| {
            let q = m.query_selector(config.q_first);
            (0..lanes)
                .map(|g| {
                    let acc = m.query_advice(config.acc[g], Rotation::cur());
                    q.clone() * (acc - products(m, g))
                })
                .collect::<Vec<_>>()
        });
        constraints::gate(meta, "mac next", |m| {
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
    constants: Option<ConstantCells>,
}

/// Cells holding constants, one per distinct value for a whole synthesis:
/// constants are assigned once (one row of the constants column each) and then
/// copied, instead of taking a constants-column row at every use.
pub type ConstantCells = Arc<Mutex<HashMap<[u8; 32], AssignedCell<Fp, Fp>>>>;

impl DotChip {
    /// Builds the chip from its configuration; every constant operand and
    /// padding cell is copied from a fresh constant.
    pub fn construct(config: DotConfig) -> Self {
        Self {
            config,
            constants: None,
        }
    }

    /// Builds the chip with a cache of constant cells shared by the synthesis.
    pub fn with_constants(config: DotConfig, constants: ConstantCells) -> Self {
        Self {
            config,
            constants: Some(constants),
        }
    }

    /// The cell holding `v`, assigned (in its own one-row region) on first use.
    fn constant_cell(
        &self,
        layouter: &mut impl Layouter<Fp>,
        cache: &ConstantCells,
        v: Fp,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        let key: [u8; 32] = v.to_repr();
        let found = cache.lock().ok().and_then(|m| m.get(&key).cloned());
        if let Some(cell) = found {
            return Ok(cell);
        }
        let cell = layouter.assign_region(
            || "constant",
            |mut region| region.assign_advice_from_constant(|| "constant", self.config.a[0], 0, v),
        )?;
        if let Ok(mut m) = cache.lock() {
            m.insert(key, cell.clone());
        }
        Ok(cell)
    }

    /// Replaces constant operands by copies of cached constant cells.
    fn resolve(
        &self,
        layouter: &mut impl Layouter<Fp>,
        ops: &[Operand],
    ) -> Result<Vec<Operand>, Error> {
        let Some(cache) = &self.constants else {
            return Ok(ops.to_vec());
        };
        ops.iter()
            .map(|op| match op {
                Operand::Constant(v) => Ok(Operand::Cell(self.constant_cell(layouter, cache, *v)?)),
                other => Ok(other.clone()),
            })
            .collect()
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
    zero: Option<&AssignedCell<Fp, Fp>>,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    if let (None, Some(z)) = (op, zero) {
        return z.copy_advice(|| "pad", region, column, row);
    }
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
        let a = self.resolve(layouter, a)?;
        let b: Vec<Vec<Operand>> = b
            .iter()
            .map(|v| self.resolve(layouter, v))
            .collect::<Result<_, _>>()?;
        let zero = match &self.constants {
            Some(cache) if a.len() % width != 0 => {
                Some(self.constant_cell(layouter, cache, Fp::ZERO)?)
            }
            _ => None,
        };
        let (a, b) = (a.as_slice(), b.as_slice());
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
                        let cell =
                            assign_operand(&mut region, cfg.a[k], row, a.get(i), zero.as_ref())?;
                        a_vals.push(cell.value().copied());
                        if i < a.len() {
                            shared.push(cell);
                        }
                    }
                    for g in 0..cfg.lanes() {
                        let mut sum = acc_vals[g];
                        for (k, a_val) in a_vals.iter().enumerate() {
                            let i = row * width + k;
                            let op = b.get(g).and_then(|v| v.get(i));
                            let cell = match op {
                                Some(op) => {
                                    assign_operand(&mut region, cfg.b[g][k], row, Some(op), None)?
                                }
                                None => region.assign_advice(
                                    || "pad",
                                    cfg.b[g][k],
                                    row,
                                    || Value::known(Fp::ZERO),
                                )?,
                            };
                            sum = sum + *a_val * cell.value().copied();
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

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;
    use proptest::prelude::*;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::table::TableSet;
    use crate::chips::test_utils::{assert_copy_fails, assert_gate_fails, mock, Synth, TEST_SHAPE};
    use crate::field::fp_from_i64;

    /// Dot products of `a` with each lane vector, sums exposed as public inputs.
    #[derive(Clone)]
    struct Dots {
        a: Vec<i64>,
        b: Vec<Vec<i64>>,
    }

    impl Synth for Dots {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let wit = |v: &i64| Operand::Witness(Value::known(fp_from_i64(*v)));
            let a: Vec<_> = self.a.iter().map(wit).collect();
            let b: Vec<Vec<_>> = self.b.iter().map(|l| l.iter().map(wit).collect()).collect();
            let cells = cfg.dot_chip().dot_products(layouter, &a, &b)?;
            for (i, s) in cells.sums.iter().enumerate() {
                cfg.expose(layouter, s, i)?;
            }
            Ok(())
        }
    }

    fn native(a: &[i64], b: &[Vec<i64>]) -> Vec<Fp> {
        b.iter()
            .map(|l| {
                let s: i128 = a
                    .iter()
                    .zip(l)
                    .map(|(x, y)| (*x as i128) * (*y as i128))
                    .sum();
                crate::field::fp_from_i128(s)
            })
            .collect()
    }

    #[test]
    fn dot_products_match_native() {
        let a = vec![3, -4, 5, 7, -1];
        let b = vec![vec![1, 2, 3, 4, 5], vec![-9, 8, -7, 6, -5]];
        let want = native(&a, &b);
        assert_eq!(mock(5, Dots { a, b }, want), Ok(()));
    }

    #[test]
    fn all_8_bit_multipliers() {
        // Every 8-bit x against every 8-bit multiplier y, summed per lane.
        let a: Vec<i64> = (-128..128).collect();
        for y0 in (-128i64..128).step_by(2) {
            let b = vec![vec![y0; 256], vec![y0 + 1; 256]];
            let want = native(&a, &b);
            assert_eq!(mock(8, Dots { a: a.clone(), b }, want), Ok(()));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_dot_products_match_native(
            a in prop::collection::vec(-(1i64 << 30)..(1i64 << 30), 1..20),
            lanes in 1usize..=TEST_SHAPE.lanes,
            seed in any::<u64>(),
        ) {
            let mut s = seed;
            let b: Vec<Vec<i64>> = (0..lanes)
                .map(|_| a.iter().map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (s >> 34) as i64 - (1 << 29)
                }).collect())
                .collect();
            let want = native(&a, &b);
            prop_assert_eq!(mock(6, Dots { a, b }, want), Ok(()));
        }
    }

    /// Lays out one dot product region by hand so a test can corrupt it: `a`
    /// has `len` elements (padding copied from the constant 0 unless
    /// `pad_value` overrides it), lane 0 holds `b`, and `acc_delta` is added to
    /// the running sum of row `acc_row`.
    #[derive(Clone)]
    struct Manual {
        a: Vec<i64>,
        b: Vec<i64>,
        acc_row: usize,
        acc_delta: i64,
        pad_value: Option<i64>,
    }

    impl Synth for Manual {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let d = &cfg.dot;
            let w = d.width();
            let rows = d.rows_for(self.a.len());
            layouter.assign_region(
                || "manual dot",
                |mut region| {
                    let mut acc = Fp::from(0);
                    for row in 0..rows {
                        if row == 0 {
                            d.q_first.enable(&mut region, row)?;
                        } else {
                            d.q_next.enable(&mut region, row)?;
                        }
                        for k in 0..w {
                            let i = row * w + k;
                            let av = match self.a.get(i) {
                                Some(v) => {
                                    region.assign_advice(
                                        || "a",
                                        d.a[k],
                                        row,
                                        || Value::known(fp_from_i64(*v)),
                                    )?;
                                    fp_from_i64(*v)
                                }
                                None => {
                                    let c = region.assign_advice_from_constant(
                                        || "pad",
                                        d.a[k],
                                        row,
                                        Fp::from(0),
                                    )?;
                                    if let Some(p) = self.pad_value {
                                        // Overwrite the padding cell's value after the copy was recorded.
                                        region.assign_advice(
                                            || "pad",
                                            d.a[k],
                                            row,
                                            || Value::known(fp_from_i64(p)),
                                        )?;
                                        let _ = c;
                                        fp_from_i64(p)
                                    } else {
                                        Fp::from(0)
                                    }
                                }
                            };
                            let bv = fp_from_i64(self.b.get(i).copied().unwrap_or(1));
                            region.assign_advice(|| "b", d.b[0][k], row, || Value::known(bv))?;
                            acc += av * bv;
                            for g in 1..d.lanes() {
                                region.assign_advice(
                                    || "b",
                                    d.b[g][k],
                                    row,
                                    || Value::known(Fp::from(0)),
                                )?;
                            }
                        }
                        let shown = if row == self.acc_row {
                            acc + fp_from_i64(self.acc_delta)
                        } else {
                            acc
                        };
                        region.assign_advice(|| "acc", d.acc[0], row, || Value::known(shown))?;
                        for g in 1..d.lanes() {
                            region.assign_advice(
                                || "acc",
                                d.acc[g],
                                row,
                                || Value::known(Fp::from(0)),
                            )?;
                        }
                    }
                    Ok(())
                },
            )
        }
    }

    fn manual() -> Manual {
        Manual {
            a: vec![1, 2, 3, 4, 5, 6, 7],
            b: vec![7, 6, 5, 4, 3, 2, 1],
            acc_row: usize::MAX,
            acc_delta: 0,
            pad_value: None,
        }
    }

    #[test]
    fn manual_layout_verifies() {
        assert_eq!(mock(5, manual(), vec![]), Ok(()));
    }

    #[test]
    fn wrong_product_on_first_row_fails_mac_first() {
        let mut m = manual();
        m.acc_row = 0;
        m.acc_delta = 1;
        assert_gate_fails(mock(5, m, vec![]), "mac first");
    }

    #[test]
    fn wrong_running_sum_fails_mac_next() {
        let mut m = manual();
        m.acc_row = 2;
        m.acc_delta = -1;
        assert_gate_fails(mock(5, m, vec![]), "mac next");
    }

    #[test]
    fn nonzero_padding_fails_the_copy_from_zero() {
        let mut m = manual();
        m.pad_value = Some(9);
        assert_copy_fails(mock(5, m, vec![]));
    }
}
