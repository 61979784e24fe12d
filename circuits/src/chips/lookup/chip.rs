//! The chip behind [`LookupInstructions`](super::LookupInstructions).

use ff::Field;
use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use std::sync::{Arc, Mutex};

use super::{Decomposition, LookupInstructions, Piece};
use crate::chips::constraints;
use crate::chips::table::Lookup;
use crate::chips::table::TableConfig;
use crate::field::fp_from_i64;
use crate::Fp;

/// Columns, gates and the lookup argument of the generic lookup gadget.
#[derive(Clone, Debug)]
pub struct LookupConfig {
    /// Tag of the lookup active on each row (0: none).
    pub tag: Column<Fixed>,
    /// `2^{b_i}` on each decomposition row.
    pub coef: Column<Fixed>,
    /// The offset added to the value on a decomposition's first row (0 elsewhere).
    pub offset: Column<Fixed>,
    /// The piece looked up on each row.
    pub input: Column<Advice>,
    /// The table output that goes with the piece.
    pub output: Column<Advice>,
    /// The running sum `z_i`.
    pub rest: Column<Advice>,
    /// Enables `z + offset - p - coef * z_next = 0`.
    pub q_step: Selector,
    /// Enables `z + offset - p = 0` on a decomposition's last row.
    pub q_end: Selector,
    /// Enables `z_next = z * output_prev` (ReLU's select).
    pub q_select: Selector,
    /// The shared table.
    pub table: TableConfig,
}

impl LookupConfig {
    /// Configures the gadget.
    ///
    /// Side effects: three advice columns (`input`, `output`, `rest`, all with
    /// equality enabled), three fixed columns (`tag`, `coef`, `offset`), two
    /// selectors, the gates `decompose step`, `decompose end` and `select`, and one lookup
    /// argument `(tag, input, output)` into `table`.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, table: TableConfig) -> Self {
        let config = Self {
            tag: meta.fixed_column(),
            coef: meta.fixed_column(),
            offset: meta.fixed_column(),
            input: meta.advice_column(),
            output: meta.advice_column(),
            rest: meta.advice_column(),
            q_step: meta.selector(),
            q_end: meta.selector(),
            q_select: meta.selector(),
            table,
        };
        for col in [config.input, config.output, config.rest] {
            meta.enable_equality(col);
        }

        constraints::lookup(meta, "table lookup", |m| {
            let tag = m.query_fixed(config.tag);
            let input = m.query_advice(config.input, Rotation::cur());
            let output = m.query_advice(config.output, Rotation::cur());
            vec![
                (tag, config.table.tag),
                (input, config.table.input),
                (output, config.table.output),
            ]
        });

        constraints::gate(meta, "decompose step", |m| {
            let q = m.query_selector(config.q_step);
            let z = m.query_advice(config.rest, Rotation::cur());
            let z_next = m.query_advice(config.rest, Rotation::next());
            let p = m.query_advice(config.input, Rotation::cur());
            let coef = m.query_fixed(config.coef);
            let off = m.query_fixed(config.offset);
            vec![q * (z + off - p - coef * z_next)]
        });
        constraints::gate(meta, "decompose end", |m| {
            let q = m.query_selector(config.q_end);
            let z = m.query_advice(config.rest, Rotation::cur());
            let p = m.query_advice(config.input, Rotation::cur());
            let off = m.query_fixed(config.offset);
            vec![q * (z + off - p)]
        });
        constraints::gate(meta, "select", |m| {
            let q = m.query_selector(config.q_select);
            let z = m.query_advice(config.rest, Rotation::cur());
            let y = m.query_advice(config.rest, Rotation::next());
            let s = m.query_advice(config.output, Rotation::prev());
            vec![q * (y - z * s)]
        });
        config
    }
}

/// Rows assigned so far in each lane, shared by every chip of one synthesis so
/// that regions go to the least-used lane. The choice depends only on region
/// sizes, never on witness values, so key generation and proving agree.
pub type LaneUsage = Arc<Mutex<Vec<usize>>>;

/// The generic lookup gadget's chip, over one or more lanes (each lane a copy of
/// the columns and lookup argument); lanes are laid out side by side.
#[derive(Clone, Debug)]
pub struct LookupChip {
    lanes: Vec<LookupConfig>,
    usage: LaneUsage,
}

impl LookupChip {
    /// Builds the chip from one configuration.
    pub fn construct(config: LookupConfig) -> Self {
        Self::with_lanes(vec![config], Arc::new(Mutex::new(vec![0])))
    }

    /// Builds the chip over several lanes sharing a usage record.
    pub fn with_lanes(lanes: Vec<LookupConfig>, usage: LaneUsage) -> Self {
        Self { lanes, usage }
    }

    /// Picks the least-used lane for a region of `rows` rows and records it.
    fn take_lane(&self, rows: usize) -> &LookupConfig {
        let mut usage = match self.usage.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        };
        usage.resize(self.lanes.len(), 0);
        let lane = (0..self.lanes.len()).min_by_key(|i| usage[*i]).unwrap_or(0);
        usage[lane] += rows;
        &self.lanes[lane]
    }
}

impl Chip<Fp> for LookupChip {
    type Config = LookupConfig;
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        &self.lanes[0]
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

impl LookupInstructions for LookupChip {
    fn decompose(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
    ) -> Result<Decomposition, Error> {
        self.assign_decomposition(layouter, Start::Copy(value), offset, pieces, None, None)
    }

    fn decompose_mask(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
        select: usize,
        mask: &AssignedCell<Fp, Fp>,
    ) -> Result<Decomposition, Error> {
        if select >= pieces.len() {
            return Err(Error::Synthesis);
        }
        let sel = Select::Mask(select, mask);
        self.assign_decomposition(
            layouter,
            Start::Copy(value),
            offset,
            pieces,
            Some(sel),
            None,
        )
    }

    fn compose(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: Value<Fp>,
        pieces: &[Piece],
    ) -> Result<Decomposition, Error> {
        self.assign_decomposition(layouter, Start::Witness(value), 0, pieces, None, None)
    }

    fn decompose_select(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
        select: usize,
    ) -> Result<Decomposition, Error> {
        if select >= pieces.len() {
            return Err(Error::Synthesis);
        }
        let sel = Select::Last(select);
        self.assign_decomposition(
            layouter,
            Start::Copy(value),
            offset,
            pieces,
            Some(sel),
            None,
        )
    }
}

/// What a decomposition's running sum is multiplied by after its pieces.
enum Select<'a> {
    /// `z_i` times the last piece's table output.
    Last(usize),
    /// `z_i` times a bit cell, checked by a `Bit` lookup on an extra row.
    Mask(usize, &'a AssignedCell<Fp, Fp>),
}

/// Where a decomposition's value comes from.
enum Start<'a> {
    /// Copied from a cell assigned elsewhere.
    Copy(&'a AssignedCell<Fp, Fp>),
    /// A fresh witness.
    Witness(Value<Fp>),
}

impl LookupChip {
    /// Assigns a decomposition. The running sums are derived from the pieces
    /// unless `rests` overrides them (only tests do, to tamper with `z_i`).
    fn assign_decomposition(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: Start<'_>,
        offset: i64,
        pieces: &[Piece],
        select: Option<Select<'_>>,
        rest_override: Option<&[Value<Fp>]>,
    ) -> Result<Decomposition, Error> {
        let extra = match select {
            None => 0,
            Some(Select::Last(_)) => 2,
            Some(Select::Mask(..)) => 3,
        };
        let cfg = self.take_lane(pieces.len() + extra);
        if pieces.is_empty() {
            return Err(Error::Synthesis);
        }
        layouter.assign_region(
            || "decompose",
            |mut region| {
                let mut rests = Vec::with_capacity(pieces.len());
                let mut inputs = Vec::with_capacity(pieces.len());
                let mut outputs = Vec::with_capacity(pieces.len());
                let mut z = match &value {
                    Start::Copy(cell) => cell.copy_advice(|| "z0", &mut region, cfg.rest, 0)?,
                    Start::Witness(v) => region.assign_advice(|| "z0", cfg.rest, 0, || *v)?,
                };
                let last = pieces.len() - 1;
                for (row, piece) in pieces.iter().enumerate() {
                    let off = if row == 0 {
                        fp_from_i64(offset)
                    } else {
                        Fp::ZERO
                    };
                    let coef = Fp::from(1u64 << piece.lookup.bits());
                    region.assign_fixed(
                        || "tag",
                        cfg.tag,
                        row,
                        || Value::known(piece.lookup.tag_fp()),
                    )?;
                    region.assign_fixed(|| "coef", cfg.coef, row, || Value::known(coef))?;
                    region.assign_fixed(|| "offset", cfg.offset, row, || Value::known(off))?;
                    let p = region.assign_advice(|| "piece", cfg.input, row, || piece.input)?;
                    let out =
                        region.assign_advice(|| "output", cfg.output, row, || piece.output)?;
                    if row == last {
                        cfg.q_end.enable(&mut region, row)?;
                    } else {
                        cfg.q_step.enable(&mut region, row)?;
                        let coef_inv = coef.invert().unwrap_or(Fp::ZERO);
                        let next = match rest_override.and_then(|r| r.get(row + 1)) {
                            Some(v) => *v,
                            None => z
                                .value()
                                .zip(piece.input)
                                .map(|(z, p)| (*z + off - p) * coef_inv),
                        };
                        let next_cell = region.assign_advice(|| "z", cfg.rest, row + 1, || next)?;
                        rests.push(z);
                        z = next_cell;
                    }
                    inputs.push(p);
                    outputs.push(out);
                }
                rests.push(z);
                let selected = match &select {
                    None => None,
                    Some(sel) => {
                        // Row n: a copy of z_i; row n + 1: z_i * s, s being the
                        // output on row n - 1: the decomposition's last piece,
                        // or (with a mask) an extra `Bit` lookup of the mask.
                        let (i, mut n) = match sel {
                            Select::Last(i) | Select::Mask(i, _) => (*i, pieces.len()),
                        };
                        let mut s = outputs.last().ok_or(Error::Synthesis)?.value().copied();
                        if let Select::Mask(_, mask) = sel {
                            let bit = Lookup::Bit.tag_fp();
                            region.assign_fixed(|| "tag", cfg.tag, n, || Value::known(bit))?;
                            mask.copy_advice(|| "mask", &mut region, cfg.input, n)?;
                            s = mask.value().copied();
                            region.assign_advice(|| "mask out", cfg.output, n, || s)?;
                            n += 1;
                        }
                        let source = rests.get(i).ok_or(Error::Synthesis)?;
                        let z = source.copy_advice(|| "z_select", &mut region, cfg.rest, n)?;
                        cfg.q_select.enable(&mut region, n)?;
                        let y = match rest_override.and_then(|r| r.get(n + 1)) {
                            Some(v) => *v,
                            None => z.value().copied() * s,
                        };
                        Some(region.assign_advice(|| "selected", cfg.rest, n + 1, || y)?)
                    }
                };
                Ok(Decomposition {
                    rests,
                    inputs,
                    outputs,
                    selected,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::table::{Lookup, TableSet};
    use crate::chips::test_utils::{assert_gate_fails, assert_lookup_fails, mock, Synth};
    use crate::field::fp_from_i64;

    /// Decomposes `value + offset` into explicit pieces, optionally overriding
    /// the running sums.
    #[derive(Clone)]
    struct Decompose {
        value: i64,
        offset: i64,
        pieces: Vec<(Lookup, i64, i64)>,
        select: Option<usize>,
        rests: Option<Vec<i64>>,
    }

    impl Synth for Decompose {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            for (l, _, _) in &self.pieces {
                set.add(*l);
            }
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let value = layouter.assign_region(
                || "value",
                |mut region| {
                    region.assign_advice(
                        || "v",
                        cfg.dot.a[0],
                        0,
                        || Value::known(fp_from_i64(self.value)),
                    )
                },
            )?;
            let pieces: Vec<Piece> = self
                .pieces
                .iter()
                .map(|(l, p, o)| Piece {
                    lookup: *l,
                    input: Value::known(fp_from_i64(*p)),
                    output: Value::known(fp_from_i64(*o)),
                })
                .collect();
            let rests: Option<Vec<Value<Fp>>> = self
                .rests
                .as_ref()
                .map(|r| r.iter().map(|v| Value::known(fp_from_i64(*v))).collect());
            cfg.lookup_chip().assign_decomposition(
                layouter,
                Start::Copy(&value),
                self.offset,
                &pieces,
                self.select.map(Select::Last),
                rests.as_deref(),
            )?;
            Ok(())
        }
    }

    fn honest() -> Decompose {
        // 1000 = 8 + 16 * (14 + 16 * 3)
        Decompose {
            value: 1000,
            offset: 0,
            pieces: vec![
                (Lookup::Unsigned(4), 8, 0),
                (Lookup::Unsigned(4), 14, 0),
                (Lookup::Signed(4), 3, 0),
            ],
            select: None,
            rests: None,
        }
    }

    #[test]
    fn honest_decomposition_verifies() {
        assert_eq!(mock(6, honest(), vec![]), Ok(()));
        // With an offset: 990 + 10 = 1000.
        let mut d = honest();
        d.value = 990;
        d.offset = 10;
        assert_eq!(mock(6, d, vec![]), Ok(()));
    }

    #[test]
    fn wrong_piece_fails_the_end_gate() {
        let mut d = honest();
        d.pieces[2].1 = 2;
        assert_gate_fails(mock(6, d, vec![]), "decompose end");
    }

    #[test]
    fn tampered_running_sum_fails_the_step_gate() {
        let mut d = honest();
        // z_1 should be 62; claim 61 and keep the later rows consistent with it.
        d.rests = Some(vec![1000, 61, 3]);
        assert_gate_fails(mock(6, d, vec![]), "decompose step");
    }

    #[test]
    fn piece_outside_its_range_fails_the_lookup() {
        // 1000 = 8 + 16 * 62 with a "limb" of 62: the gates hold, the lookup does not.
        let d = Decompose {
            value: 1000,
            offset: 0,
            pieces: vec![(Lookup::Unsigned(4), 8, 0), (Lookup::Signed(4), 62, 0)],
            select: None,
            rests: None,
        };
        assert_lookup_fails(mock(6, d, vec![]));
    }

    #[test]
    fn wrong_output_fails_the_lookup() {
        let fmt = crate::fixed::QFormat::new(2, 5).unwrap();
        let act = Lookup::Activation(crate::fixed::Activation::Relu, fmt);
        let ok = Decompose {
            value: 7,
            offset: 0,
            pieces: vec![(act, 7, 7)],
            select: None,
            rests: None,
        };
        assert_eq!(mock(7, ok.clone(), vec![]), Ok(()));
        let mut bad = ok;
        bad.pieces[0].2 = 6;
        assert_lookup_fails(mock(7, bad, vec![]));
    }

    /// ReLU of 200 (q = 200 = 8 + 16 * 12, sign piece 12 >= 0) and of -200.
    fn relu(q: i64) -> Decompose {
        let low = q.rem_euclid(16);
        let top = q.div_euclid(16);
        Decompose {
            value: q,
            offset: 0,
            pieces: vec![
                (Lookup::Unsigned(4), low, 0),
                (Lookup::Sign(5), top, i64::from(top >= 0)),
            ],
            select: Some(0),
            rests: None,
        }
    }

    #[test]
    fn select_computes_relu_of_wide_values() {
        for q in [-256i64, -200, -1, 0, 1, 200, 255] {
            assert_eq!(mock(6, relu(q), vec![]), Ok(()), "q = {q}");
        }
    }

    #[test]
    fn wrong_selected_value_fails_the_select_gate() {
        let mut d = relu(-200);
        // Rows: 0 and 1 decompose, 2 copies q, 3 holds the selected value.
        d.rests = Some(vec![-200, -13, -200, -200]);
        assert_gate_fails(mock(6, d, vec![]), "select");
    }

    #[test]
    fn wrong_sign_fails_the_lookup() {
        // Claim s = 1 for a negative value, so that "relu" passes it through.
        let mut d = relu(-200);
        d.pieces[1].2 = 1;
        assert_lookup_fails(mock(6, d, vec![]));
    }

    /// `z_0 * mask` after a one-piece decomposition, the mask witnessed in the
    /// first region and looked up as a `Bit`.
    #[derive(Clone)]
    struct Masked {
        value: i64,
        mask: i64,
        selected: Option<i64>,
    }

    impl Synth for Masked {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            set.add(Lookup::Signed(8));
            set.add(Lookup::Bit);
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = cfg.witness(
                layouter,
                &[
                    Value::known(fp_from_i64(self.value)),
                    Value::known(fp_from_i64(self.mask)),
                ],
            )?;
            let piece = Piece {
                lookup: Lookup::Signed(8),
                input: Value::known(fp_from_i64(self.value)),
                output: Value::known(Fp::from(0)),
            };
            let chip = cfg.lookup_chip();
            let select = Select::Mask(0, &cells[1]);
            let rests = self.selected.map(|y| {
                vec![Value::known(Fp::from(0)); 3]
                    .into_iter()
                    .chain([Value::known(fp_from_i64(y))])
                    .collect::<Vec<_>>()
            });
            let d = chip.assign_decomposition(
                layouter,
                Start::Copy(&cells[0]),
                0,
                &[piece],
                Some(select),
                rests.as_deref(),
            )?;
            cfg.expose(layouter, d.selected.as_ref().ok_or(Error::Synthesis)?, 0)
        }
    }

    #[test]
    fn mask_multiplies_by_a_bit() {
        for (v, m) in [(-7i64, 0i64), (-7, 1), (100, 1), (100, 0)] {
            let m = Masked {
                value: v,
                mask: m,
                selected: None,
            };
            let want = fp_from_i64(m.value * m.mask);
            assert_eq!(mock(9, m, vec![want]), Ok(()));
        }
    }

    #[test]
    fn mask_that_is_not_a_bit_fails_the_lookup() {
        let m = Masked {
            value: 5,
            mask: 2,
            selected: None,
        };
        assert_lookup_fails(mock(9, m, vec![fp_from_i64(10)]));
    }

    #[test]
    fn wrong_masked_value_fails_the_select_gate() {
        let m = Masked {
            value: 5,
            mask: 0,
            selected: Some(5),
        };
        assert_gate_fails(mock(9, m, vec![fp_from_i64(5)]), "select");
    }
}
