//! Measuring how many rows a circuit really uses, by running its synthesis
//! against an assignment that only records row indices. Choosing `k` from the
//! measurement (not an estimate) means a planned circuit always fits.

use halo2_proofs::circuit::Value;
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Circuit, Column, ConstraintSystem, Error, Fixed,
    FloorPlanner, Instance, Selector,
};

use super::{CircuitError, MAX_K};
use crate::chips::core::CoreConfig;
use crate::Fp;

/// Records the highest row touched.
#[derive(Default)]
struct RowCounter {
    rows: usize,
    overflow: bool,
    debug: bool,
    per_column: std::collections::BTreeMap<String, usize>,
}

impl RowCounter {
    /// Records `row`; past the largest circuit, stops the synthesis (a
    /// circuit that cannot be proven is not laid out to the end).
    fn touch(&mut self, row: usize) -> Result<(), Error> {
        if row >= 1 << MAX_K {
            self.overflow = true;
            return Err(Error::NotEnoughRowsAvailable { current_k: MAX_K });
        }
        self.rows = self.rows.max(row + 1);
        Ok(())
    }

    fn touch_col(&mut self, col: impl std::fmt::Debug, row: usize) -> Result<(), Error> {
        self.touch(row)?;
        if self.debug {
            let e = self.per_column.entry(format!("{col:?}")).or_default();
            *e = (*e).max(row + 1);
        }
        Ok(())
    }
}

impl Assignment<Fp> for RowCounter {
    fn enter_region<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
    }

    fn exit_region(&mut self) {}

    fn enable_selector<A, AR>(&mut self, _: A, _: &Selector, row: usize) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.touch(row)
    }

    fn query_instance(&self, _: Column<Instance>, _: usize) -> Result<Value<Fp>, Error> {
        Ok(Value::unknown())
    }

    fn assign_advice<V, VR, A, AR>(
        &mut self,
        _: A,
        c: Column<Advice>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.touch_col(c, row)
    }

    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        _: A,
        c: Column<Fixed>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.touch_col(c, row)
    }

    fn copy(&mut self, _: Column<Any>, a: usize, _: Column<Any>, b: usize) -> Result<(), Error> {
        self.touch(a.max(b))
    }

    fn fill_from_row(
        &mut self,
        _: Column<Fixed>,
        _: usize,
        _: Value<Assigned<Fp>>,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn push_namespace<NR, N>(&mut self, _: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
    }

    fn pop_namespace(&mut self, _: Option<String>) {}
}

/// Rows and size of a circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Measured {
    /// Rows the tallest column uses (lookup table and public inputs included).
    pub rows: usize,
    /// The smallest `k` that holds them and the blinding rows.
    pub k: u32,
}

/// Measures a circuit (with or without witness) that has `instance_rows`
/// public inputs.
pub fn measure<C: Circuit<Fp, Config = CoreConfig>>(
    circuit: &C,
    instance_rows: usize,
) -> Result<Measured, CircuitError> {
    let mut cs = ConstraintSystem::<Fp>::default();
    let config = C::configure(&mut cs);
    let constants = vec![config.dot.constants];
    let mut counter = RowCounter {
        debug: std::env::var_os("ZKPOT_DEBUG_ROWS").is_some(),
        ..RowCounter::default()
    };
    let laid_out = C::FloorPlanner::synthesize(&mut counter, circuit, config, constants);
    if counter.overflow {
        return Err(CircuitError::TooLarge {
            rows: 1 << MAX_K,
            max_k: MAX_K,
        });
    }
    laid_out.map_err(|e| CircuitError::Synthesis(e.to_string()))?;
    if counter.debug {
        eprintln!("{:?}", counter.per_column);
        eprintln!("degree {}", cs.degree());
    }
    let rows = counter.rows.max(instance_rows);
    let needed = rows + cs.blinding_factors() + 1;
    let k = (4..=MAX_K)
        .find(|k| needed <= 1usize << k)
        .ok_or(CircuitError::TooLarge {
            rows: needed,
            max_k: MAX_K,
        })?;
    Ok(Measured { rows, k })
}
