//! A malicious prover for tests: take the honest witness of any circuit,
//! overwrite chosen cells, and see which gate or lookup refuses it.
//!
//! [`Witness::record`] runs the circuit once under the mock prover with a
//! floor planner that wraps the real one and records every advice cell
//! (region, annotation, column, row, value) and every copy constraint. A
//! test then picks a cell and calls [`Witness::tamper`], which runs the
//! circuit again with that cell, and every cell copy-constrained to it, set
//! to another value: the wire changes as a whole, as a cheating prover would
//! change it, so copies stay satisfied and only the gates and lookups that
//! read the wire can object. Everything else keeps its honest value.
//! [`Witness::tamper_cell`] changes one cell alone. The assertions of
//! [`test_utils`](crate::chips::test_utils) then name what failed.
//!
//! A wire copied to a public input or a fixed constant cannot change without
//! breaking that copy; the harness still changes it, and the failure is the
//! copy constraint (`assert_copy_fails`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use ff::Field;
use halo2_proofs::circuit::Value;
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Circuit, Column, ConstraintSystem, Error, Fixed,
    FloorPlanner, Instance, Selector,
};

use crate::Fp;

/// One advice cell of an honest witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellRecord {
    /// The region's index, in assignment order.
    pub region: usize,
    /// The region's name, after the namespaces it was assigned in:
    /// `one-hot/decompose`.
    pub path: String,
    /// The cell's annotation.
    pub annotation: String,
    /// The cell's column.
    pub column: Column<Advice>,
    /// The absolute row.
    pub row: usize,
    /// The honest value.
    pub value: Option<Fp>,
}

/// A cell: its column and absolute row.
pub type Key = (Column<Any>, usize);

#[derive(Default)]
struct Recording {
    cells: Vec<CellRecord>,
    copies: Vec<(Key, Key)>,
}

enum Mode {
    Record(Recording),
    Apply(BTreeMap<Key, Fp>),
}

thread_local! {
    static MODE: RefCell<Option<Mode>> = const { RefCell::new(None) };
}

/// The recording or tampering assignment around the real one.
struct TamperCs<'a, F: Field, CS: Assignment<F>> {
    inner: &'a mut CS,
    region: Option<(usize, String)>,
    regions: usize,
    namespaces: Vec<String>,
    _f: std::marker::PhantomData<F>,
}

fn as_fp<F: Field>(v: F) -> Option<Fp> {
    (&v as &dyn std::any::Any).downcast_ref::<Fp>().copied()
}

fn from_fp<F: Field>(v: Fp) -> Option<F> {
    (&v as &dyn std::any::Any).downcast_ref::<F>().copied()
}

impl<F: Field, CS: Assignment<F>> Assignment<F> for TamperCs<'_, F, CS> {
    fn enter_region<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name: String = name_fn().into();
        let mut path = self.namespaces.join("/");
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&name);
        self.region = Some((self.regions, path));
        self.regions += 1;
        self.inner.enter_region(|| name);
    }

    fn exit_region(&mut self) {
        self.region = None;
        self.inner.exit_region();
    }

    fn enable_selector<A, AR>(
        &mut self,
        annotation: A,
        selector: &Selector,
        row: usize,
    ) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inner.enable_selector(annotation, selector, row)
    }

    fn query_instance(&self, column: Column<Instance>, row: usize) -> Result<Value<F>, Error> {
        self.inner.query_instance(column, row)
    }

    fn assign_advice<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<Advice>,
        row: usize,
        to: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        let annotation: String = annotation().into();
        let mut value: Value<Assigned<F>> = to().map(|v| v.into());
        let key: Key = (column.into(), row);
        MODE.with(|mode| match mode.borrow_mut().as_mut() {
            Some(Mode::Record(rec)) => {
                let mut honest = None;
                value.map(|v| honest = as_fp(v.evaluate()));
                let (region, path) = self.region.clone().unwrap_or_default();
                rec.cells.push(CellRecord {
                    region,
                    path,
                    annotation: annotation.clone(),
                    column,
                    row,
                    value: honest,
                });
            }
            Some(Mode::Apply(changes)) => {
                if let Some(new) = changes.get(&key).and_then(|v| from_fp::<F>(*v)) {
                    value = Value::known(Assigned::Trivial(new));
                }
            }
            None => {}
        });
        self.inner
            .assign_advice(|| annotation, column, row, || value)
    }

    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<Fixed>,
        row: usize,
        to: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inner.assign_fixed(annotation, column, row, to)
    }

    fn copy(
        &mut self,
        left_column: Column<Any>,
        left_row: usize,
        right_column: Column<Any>,
        right_row: usize,
    ) -> Result<(), Error> {
        MODE.with(|mode| {
            if let Some(Mode::Record(rec)) = mode.borrow_mut().as_mut() {
                rec.copies
                    .push(((left_column, left_row), (right_column, right_row)));
            }
        });
        self.inner
            .copy(left_column, left_row, right_column, right_row)
    }

    fn fill_from_row(
        &mut self,
        column: Column<Fixed>,
        row: usize,
        to: Value<Assigned<F>>,
    ) -> Result<(), Error> {
        self.inner.fill_from_row(column, row, to)
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name: String = name_fn().into();
        self.namespaces.push(name.clone());
        self.inner.push_namespace(|| name)
    }

    fn pop_namespace(&mut self, gadget_name: Option<String>) {
        self.namespaces.pop();
        self.inner.pop_namespace(gadget_name)
    }
}

/// The floor planner `P` with its assignment wrapped.
pub struct TamperPlanner<P>(std::marker::PhantomData<P>);

impl<P: FloorPlanner> FloorPlanner for TamperPlanner<P> {
    fn synthesize<F: Field, CS: Assignment<F>, C: Circuit<F>>(
        cs: &mut CS,
        circuit: &C,
        config: C::Config,
        constants: Vec<Column<Fixed>>,
    ) -> Result<(), Error> {
        let mut wrapped = TamperCs {
            inner: cs,
            region: None,
            regions: 0,
            namespaces: Vec::new(),
            _f: std::marker::PhantomData,
        };
        P::synthesize(&mut wrapped, circuit, config, constants)
    }
}

/// A circuit synthesized through [`TamperPlanner`].
#[derive(Clone)]
pub struct Tampered<C>(pub C);

impl<C: Circuit<Fp>> Circuit<Fp> for Tampered<C> {
    type Config = C::Config;
    type FloorPlanner = TamperPlanner<C::FloorPlanner>;

    fn without_witnesses(&self) -> Self {
        Tampered(self.0.without_witnesses())
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> C::Config {
        C::configure(meta)
    }

    fn synthesize(
        &self,
        config: C::Config,
        layouter: impl halo2_proofs::circuit::Layouter<Fp>,
    ) -> Result<(), Error> {
        self.0.synthesize(config, layouter)
    }
}

/// An honest witness of a circuit, recorded cell by cell.
pub struct Witness<C> {
    circuit: C,
    k: u32,
    instance: Vec<Vec<Fp>>,
    cells: Vec<CellRecord>,
    copies: Vec<(Key, Key)>,
}

fn run<C: Circuit<Fp> + Clone>(
    k: u32,
    circuit: &C,
    instance: &[Vec<Fp>],
    mode: Mode,
) -> (Result<(), Vec<VerifyFailure>>, Option<Mode>) {
    MODE.with(|m| *m.borrow_mut() = Some(mode));
    let prover = MockProver::run(k, &Tampered(circuit.clone()), instance.to_vec());
    let mode = MODE.with(|m| m.borrow_mut().take());
    match prover {
        Ok(p) => (p.verify(), mode),
        Err(e) => panic!("the mock prover could not run: {e:?}"),
    }
}

impl<C: Circuit<Fp> + Clone> Witness<C> {
    /// Records the honest witness of `circuit` at size `k`, checking that it
    /// verifies.
    pub fn record(k: u32, circuit: C, instance: Vec<Vec<Fp>>) -> Self {
        let (verdict, mode) = run(k, &circuit, &instance, Mode::Record(Recording::default()));
        assert_eq!(verdict, Ok(()), "the honest witness must verify");
        let Some(Mode::Record(rec)) = mode else {
            panic!("recording lost");
        };
        Self {
            circuit,
            k,
            instance,
            cells: rec.cells,
            copies: rec.copies,
        }
    }

    /// Every advice cell of the honest witness, in assignment order.
    pub fn cells(&self) -> &[CellRecord] {
        &self.cells
    }

    /// Every copy constraint, as the two `(column, row)` cells it joins.
    pub fn copies(&self) -> &[(Key, Key)] {
        &self.copies
    }

    /// The cells whose path (namespaces and region name) contains `path`
    /// and whose annotation is `annotation`, in assignment order.
    pub fn find(&self, path: &str, annotation: &str) -> Vec<CellRecord> {
        self.cells
            .iter()
            .filter(|c| c.path.contains(path) && c.annotation == annotation)
            .cloned()
            .collect()
    }

    /// The `n`-th cell [`find`](Self::find) returns; panics with the
    /// regions seen if there is none.
    pub fn nth(&self, path: &str, annotation: &str, n: usize) -> CellRecord {
        match self.find(path, annotation).into_iter().nth(n) {
            Some(c) => c,
            None => {
                let seen: BTreeSet<(String, String)> = self
                    .cells
                    .iter()
                    .map(|c| (c.path.clone(), c.annotation.clone()))
                    .collect();
                panic!("no cell {n} annotated {annotation:?} at {path:?}; seen: {seen:?}")
            }
        }
    }

    /// The cells copy-constrained to `cell`, itself included.
    pub fn wire(&self, cell: &CellRecord) -> Vec<Key> {
        let mut next: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
        for (a, b) in &self.copies {
            next.entry(*a).or_default().push(*b);
            next.entry(*b).or_default().push(*a);
        }
        let start: Key = (cell.column.into(), cell.row);
        let mut seen: BTreeSet<Key> = BTreeSet::from([start]);
        let mut frontier = vec![start];
        while let Some(k) = frontier.pop() {
            for y in next.get(&k).into_iter().flatten() {
                if seen.insert(*y) {
                    frontier.push(*y);
                }
            }
        }
        seen.into_iter().collect()
    }

    /// Whether the wire of `cell` reaches an advice cell whose path contains
    /// `path` (a value copied from one part of a circuit into another).
    pub fn reaches(&self, cell: &CellRecord, path: &str) -> bool {
        let wire: BTreeSet<Key> = self.wire(cell).into_iter().collect();
        self.cells
            .iter()
            .any(|c| c.path.contains(path) && wire.contains(&(c.column.into(), c.row)))
    }

    /// The first cell at `path` annotated `annotation` whose wire reaches
    /// `to`.
    pub fn wired(&self, path: &str, annotation: &str, to: &str) -> CellRecord {
        self.find(path, annotation)
            .into_iter()
            .find(|c| self.reaches(c, to))
            .unwrap_or_else(|| panic!("no {annotation:?} cell at {path:?} reaches {to:?}"))
    }

    /// Runs the circuit with `cell` and every cell copied from or to it set
    /// to `value`, everything else honest, and returns the mock prover's
    /// verdict.
    pub fn tamper(&self, cell: &CellRecord, value: Fp) -> Result<(), Vec<VerifyFailure>> {
        let changes = self.wire(cell).into_iter().map(|k| (k, value)).collect();
        run(self.k, &self.circuit, &self.instance, Mode::Apply(changes)).0
    }

    /// Runs the circuit with `cell` alone set to `value`.
    pub fn tamper_cell(&self, cell: &CellRecord, value: Fp) -> Result<(), Vec<VerifyFailure>> {
        let changes = BTreeMap::from([((cell.column.into(), cell.row), value)]);
        run(self.k, &self.circuit, &self.instance, Mode::Apply(changes)).0
    }

    /// Runs the circuit with each of `changes`' cells alone set to its
    /// value (no copies followed), everything else honest.
    pub fn tamper_cells(&self, changes: &[(CellRecord, Fp)]) -> Result<(), Vec<VerifyFailure>> {
        let changes = changes
            .iter()
            .map(|(c, v)| ((c.column.into(), c.row), *v))
            .collect();
        run(self.k, &self.circuit, &self.instance, Mode::Apply(changes)).0
    }

    /// [`tamper`](Self::tamper) with the honest value plus `delta`.
    pub fn shift(&self, cell: &CellRecord, delta: i64) -> Result<(), Vec<VerifyFailure>> {
        let honest = cell.value.unwrap_or(Fp::ZERO);
        self.tamper(cell, honest + crate::field::fp_from_i64(delta))
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::lookup::{LookupInstructions, Piece};
    use crate::chips::table::{Lookup, TableSet};
    use crate::chips::test_utils::{assert_copy_fails, assert_gate_fails, Harness, Synth};

    /// A range-checked value, a copy of it that is exposed, and a witness no
    /// constraint reads.
    #[derive(Clone)]
    struct Demo;

    impl Synth for Demo {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            set.add(Lookup::Unsigned(4));
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = cfg.witness(
                &mut layouter.namespace(|| "inputs"),
                &[Value::known(Fp::from(37)), Value::known(Fp::from(5))],
            )?;
            let pieces = [5u64, 2].map(|p| Piece {
                lookup: Lookup::Unsigned(4),
                input: Value::known(Fp::from(p)),
                output: Value::known(Fp::ZERO),
            });
            cfg.lookup_chip().decompose(
                &mut layouter.namespace(|| "checked"),
                &cells[0],
                0,
                &pieces,
            )?;
            cfg.expose(layouter, &cells[0], 0)
        }
    }

    #[test]
    fn the_harness_finds_free_cells_and_names_constrained_ones() {
        let w = Witness::record(6, Harness(Demo), vec![vec![Fp::from(37)]]);
        // The honest value changes nothing.
        let free = w.nth("inputs", "witness", 1);
        assert_eq!(w.tamper(&free, free.value.unwrap()), Ok(()));
        // A cell no constraint reads is free: any value verifies.
        assert_eq!(w.tamper(&free, Fp::from(1234)), Ok(()));
        // The checked value's wire ends at the public input: its copy fails.
        let checked = w.nth("inputs", "witness", 0);
        assert!(w.reaches(&checked, "checked"));
        assert_copy_fails(w.tamper(&checked, Fp::from(38)));
        // A piece changed as a wire fails the decomposition, and a running
        // sum changed alone fails its copy or its gate.
        let piece = w.nth("checked", "piece", 1);
        assert_gate_fails(w.shift(&piece, 1), "decompose end");
        let z0 = w.nth("checked", "z0", 0);
        assert!(w.tamper_cell(&z0, Fp::from(36)).is_err());
    }
}
