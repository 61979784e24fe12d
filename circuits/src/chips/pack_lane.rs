//! Lean lanes that range-check signed bytes and pack them, for committing
//! 8-bit weights.
//!
//! A lane has two advice columns, `value` and `rest`, and one single-column
//! lookup of `value` into a table of the 256 signed bytes, on every usable
//! row: the column holds nothing but bytes (and zeros where unassigned), so
//! the lookup needs no selector, and a layout pays no fixed column for it. A chunk of up to 31
//! bytes `v_0, v_1, ...` takes one row each, lowest first, with the running
//! sum `rest_i = v_i + 256 rest_(i+1)` (gate `byte pack step`) ending in
//! `rest_last = v_last` (gate `byte pack end`), so `rest_0` is the packed
//! element `sum v_i 256^i` of [`pack_native`](super::pack::pack_native).
//!
//! The generic lookup gadget does the same with a three-column lookup (tag,
//! input, output), three advice and three fixed columns a lane; a pack lane
//! has two advice columns, no fixed ones, and one equality column fewer.

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use super::lookup::chip::LaneUsage;
use super::pack::{chunks, Packed};
use super::table::Lookup;
use crate::chips::constraints;
use crate::field::fp_from_i64;
use crate::Fp;

/// Columns, gates and lookup of one lane.
#[derive(Clone, Debug)]
pub struct PackLaneConfig {
    /// The bytes, one a row (equality enabled).
    pub value: Column<Advice>,
    /// The running sums (equality enabled).
    pub rest: Column<Advice>,
    /// Enables `rest = value + 256 rest_next`.
    pub q_step: Selector,
    /// Enables `rest = value` on a chunk's last row.
    pub q_end: Selector,
}

/// The table of signed bytes every lane looks up.
#[derive(Clone, Copy, Debug)]
pub struct ByteTable(pub TableColumn);

impl ByteTable {
    /// Allocates the table column.
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> Self {
        Self(meta.lookup_table_column())
    }

    /// Loads `-128..=127`.
    pub fn load(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        layouter.assign_table(
            || "signed bytes",
            |mut table| {
                for (row, v) in (-128i64..=127).enumerate() {
                    table.assign_cell(|| "byte", self.0, row, || Value::known(fp_from_i64(v)))?;
                }
                Ok(())
            },
        )
    }
}

impl PackLaneConfig {
    /// Configures one lane over `table`.
    ///
    /// Side effects: two advice columns with equality, two simple
    /// selectors, the gates `byte pack step` and `byte pack end` (degree 2),
    /// and one lookup of `value` into `table` on every usable row (0 is a
    /// signed byte, so rows the lane does not use pass).
    pub fn configure(meta: &mut ConstraintSystem<Fp>, table: ByteTable) -> Self {
        let config = Self {
            value: meta.advice_column(),
            rest: meta.advice_column(),
            q_step: meta.selector(),
            q_end: meta.selector(),
        };
        meta.enable_equality(config.value);
        meta.enable_equality(config.rest);
        constraints::lookup(meta, "byte lookup", |m| {
            let v = m.query_advice(config.value, Rotation::cur());
            vec![(v, table.0)]
        });
        constraints::gate(meta, "byte pack step", |m| {
            let q = m.query_selector(config.q_step);
            let v = m.query_advice(config.value, Rotation::cur());
            let z = m.query_advice(config.rest, Rotation::cur());
            let z_next = m.query_advice(config.rest, Rotation::next());
            vec![q * (z - v - z_next * Fp::from(256))]
        });
        constraints::gate(meta, "byte pack end", |m| {
            let q = m.query_selector(config.q_end);
            let v = m.query_advice(config.value, Rotation::cur());
            let z = m.query_advice(config.rest, Rotation::cur());
            vec![q * (z - v)]
        });
        config
    }
}

/// The chip over one or more lanes; each chunk goes to the least-used lane.
#[derive(Clone, Debug)]
pub struct PackLaneChip {
    lanes: Vec<PackLaneConfig>,
    usage: LaneUsage,
}

impl PackLaneChip {
    /// Builds the chip over `lanes` sharing a usage record.
    pub fn with_lanes(lanes: Vec<PackLaneConfig>, usage: LaneUsage) -> Self {
        Self { lanes, usage }
    }

    fn take_lane(&self, rows: usize) -> Result<&PackLaneConfig, Error> {
        let mut usage = match self.usage.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        };
        usage.resize(self.lanes.len(), 0);
        let lane = (0..self.lanes.len())
            .min_by_key(|i| usage[*i])
            .ok_or(Error::Synthesis)?;
        usage[lane] += rows;
        Ok(&self.lanes[lane])
    }

    /// Range-checks `values` as signed bytes and packs them; equals
    /// [`pack_native`](super::pack::pack_native) with `Signed(8)` lookups.
    pub fn pack(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<i64>],
    ) -> Result<Packed, Error> {
        self.pack_with(layouter, values, |_, rests| rests)
    }

    /// [`pack`](Self::pack) with the running sums passed through `edit`
    /// (chunk index, sums) before assignment: tests tamper with them.
    fn pack_with(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<i64>],
        edit: impl Fn(usize, Vec<Value<Fp>>) -> Vec<Value<Fp>>,
    ) -> Result<Packed, Error> {
        let lookups = vec![Lookup::Signed(8); values.len()];
        let mut out = Packed {
            values: Vec::with_capacity(values.len()),
            packed: Vec::new(),
        };
        for (c, range) in chunks(&lookups).into_iter().enumerate() {
            let chunk = &values[range];
            let vals: Vec<Value<Fp>> = chunk.iter().map(|v| v.map(fp_from_i64)).collect();
            let mut rests = vec![Value::known(Fp::from(0)); vals.len()];
            let mut acc = Value::known(Fp::from(0));
            for (i, v) in vals.iter().enumerate().rev() {
                acc = acc.zip(*v).map(|(a, v)| v + a * Fp::from(256));
                rests[i] = acc;
            }
            let rests = edit(c, rests);
            let lane = self.take_lane(vals.len())?;
            let (cells, packed) = layouter.assign_region(
                || "byte pack",
                |mut region| {
                    let mut cells: Vec<AssignedCell<Fp, Fp>> = Vec::with_capacity(vals.len());
                    let mut first = None;
                    for (i, (v, z)) in vals.iter().zip(&rests).enumerate() {
                        if i + 1 == vals.len() {
                            lane.q_end.enable(&mut region, i)?;
                        } else {
                            lane.q_step.enable(&mut region, i)?;
                        }
                        cells.push(region.assign_advice(|| "byte", lane.value, i, || *v)?);
                        let z = region.assign_advice(|| "rest", lane.rest, i, || *z)?;
                        if i == 0 {
                            first = Some(z);
                        }
                    }
                    Ok((cells, first.ok_or(Error::Synthesis)?))
                },
            )?;
            out.values.extend(cells);
            out.packed.push(packed);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::dev::MockProver;
    use halo2_proofs::plonk::{Circuit, Column, Instance};

    use super::*;
    use crate::chips::pack::pack_native;
    use crate::chips::test_utils::{assert_gate_fails, assert_named_lookup_fails};
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::dev::VerifyFailure;

    /// Packs `values`, exposing every packed element; `tamper` edits the
    /// running sums of chunk 0.
    #[derive(Clone)]
    struct Pack {
        values: Vec<i64>,
        tamper: fn(Vec<Value<Fp>>) -> Vec<Value<Fp>>,
    }

    impl Circuit<Fp> for Pack {
        type Config = (PackLaneChip, ByteTable, Column<Instance>);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let table = ByteTable::configure(meta);
            let lanes = (0..2)
                .map(|_| PackLaneConfig::configure(meta, table))
                .collect();
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            let usage = std::sync::Arc::new(std::sync::Mutex::new(vec![0; 2]));
            (PackLaneChip::with_lanes(lanes, usage), table, instance)
        }

        fn synthesize(
            &self,
            (chip, table, instance): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            table.load(&mut layouter)?;
            let values: Vec<_> = self.values.iter().map(|v| Value::known(*v)).collect();
            let tamper = self.tamper;
            let packed = chip.pack_with(&mut layouter, &values, |c, rests| {
                if c == 0 {
                    tamper(rests)
                } else {
                    rests
                }
            })?;
            for (i, p) in packed.packed.iter().enumerate() {
                layouter.constrain_instance(p.cell(), instance, i)?;
            }
            Ok(())
        }
    }

    fn run(
        values: &[i64],
        tamper: fn(Vec<Value<Fp>>) -> Vec<Value<Fp>>,
    ) -> Result<(), Vec<VerifyFailure>> {
        let lookups = vec![Lookup::Signed(8); values.len()];
        // The expected elements use the field formula, so out-of-range values
        // still give the sums an honest prover would assign.
        let public = pack_native(values, &lookups);
        let c = Pack {
            values: values.to_vec(),
            tamper,
        };
        MockProver::run(9, &c, vec![public]).unwrap().verify()
    }

    fn keep(r: Vec<Value<Fp>>) -> Vec<Value<Fp>> {
        r
    }

    #[test]
    fn packs_equal_the_native_packing() {
        let values: Vec<i64> = (0..75).map(|i| (i * 37 % 256) - 128).collect();
        assert_eq!(run(&values, keep), Ok(()));
        assert_eq!(run(&[-128, 127, 0, -1], keep), Ok(()));
    }

    #[test]
    fn a_value_outside_a_signed_byte_fails_the_lookup() {
        assert_named_lookup_fails(run(&[3, 128, -4], keep), "byte lookup");
        assert_named_lookup_fails(run(&[-129], keep), "byte lookup");
    }

    #[test]
    fn a_wrong_running_sum_fails_its_gate() {
        fn bump_middle(mut r: Vec<Value<Fp>>) -> Vec<Value<Fp>> {
            r[1] = r[1].map(|z| z + Fp::from(1));
            r
        }
        fn bump_last(mut r: Vec<Value<Fp>>) -> Vec<Value<Fp>> {
            let last = r.len() - 1;
            r[last] = r[last].map(|z| z + Fp::from(1));
            r
        }
        assert_gate_fails(run(&[5, -6, 7, 8], bump_middle), "byte pack step");
        assert_gate_fails(run(&[5, -6, 7, 8], bump_last), "byte pack end");
    }
}
