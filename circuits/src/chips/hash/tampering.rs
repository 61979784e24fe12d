//! Tampered witnesses against the Poseidon chip: every cell of a permutation
//! is read by a gate or a copy, each gate refuses a changed cell by name, and
//! padding permutations and the sponge's additions are constrained too.

use ff::Field;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Any, Column, Error};
use std::collections::BTreeSet;

use super::chip::trace;
use super::{hash_native, PERMUTATION_ROWS};
use crate::chips::core::CoreConfig;
use crate::chips::table::TableSet;
use crate::chips::test_utils::{assert_gate_fails, Harness, Synth};
use crate::tamper::{CellRecord, Witness};
use crate::Fp;

/// Hashes three words (two permutations and an addition) and one word (a
/// third permutation, so one of the two lanes is padded), exposing both.
#[derive(Clone)]
struct Words;

const WORDS: [u64; 3] = [5, 6, 7];

impl Synth for Words {
    fn table(&self) -> TableSet {
        TableSet::new()
    }

    fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        let vals = WORDS.map(|w| Value::known(Fp::from(w)));
        let cells = cfg.witness(&mut layouter.namespace(|| "words"), &vals)?;
        let chip = cfg.hash_chip()?;
        let three = chip.hash(&mut layouter.namespace(|| "three"), &cells)?;
        let one = chip.hash(&mut layouter.namespace(|| "one"), &cells[..1])?;
        cfg.expose(layouter, &three, 0)?;
        cfg.expose(layouter, &one, 1)
    }
}

fn record() -> Witness<Harness<Words>> {
    let words = WORDS.map(Fp::from);
    let public = vec![hash_native(&words), hash_native(&words[..1])];
    Witness::record(9, Harness(Words), vec![public])
}

/// The cells of the first permutation region whose path contains `path`,
/// with their row within the region.
fn permutation(w: &Witness<Harness<Words>>, path: &str) -> Vec<(usize, CellRecord)> {
    let cells: Vec<CellRecord> = ["state", "aux"]
        .iter()
        .flat_map(|a| w.find(path, a))
        .collect();
    let region = cells.iter().map(|c| c.region).min().expect("a permutation");
    let mine: Vec<CellRecord> = cells.into_iter().filter(|c| c.region == region).collect();
    let top = mine.iter().map(|c| c.row).min().unwrap_or(0);
    mine.into_iter().map(|c| (c.row - top, c)).collect()
}

fn bump<C: halo2_proofs::plonk::Circuit<Fp> + Clone>(
    w: &Witness<C>,
    cell: &CellRecord,
) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    w.tamper_cell(cell, cell.value.unwrap_or(Fp::ZERO) + Fp::ONE)
}

#[test]
fn every_cell_of_a_permutation_is_constrained() {
    let w = record();
    let cells = permutation(&w, "three");
    assert_eq!(cells.len(), 6 * PERMUTATION_ROWS);
    for (row, cell) in &cells {
        let verdict = bump(&w, cell);
        // The output row's auxiliary cells are the only ones no gate reads
        // (no round follows); they feed nothing.
        let free = *row == PERMUTATION_ROWS - 1 && cell.annotation == "aux";
        assert_eq!(
            verdict.is_ok(),
            free,
            "row {row} {} {:?}",
            cell.annotation,
            cell.column
        );
    }
}

#[test]
fn each_round_gate_refuses_its_cells() {
    let w = record();
    let cells = permutation(&w, "three");
    let at = |row: usize, annotation: &str| {
        cells
            .iter()
            .find(|(r, c)| *r == row && c.annotation == annotation)
            .map(|(_, c)| c.clone())
            .expect("a cell")
    };
    // A square of the first full round, of the last full round, and of a
    // partial-round row.
    assert_gate_fails(bump(&w, &at(1, "aux")), "poseidon full round");
    assert_gate_fails(bump(&w, &at(34, "aux")), "poseidon full round");
    assert_gate_fails(bump(&w, &at(10, "aux")), "poseidon partial rounds");
    // A state word between two partial-round rows fails both.
    let mid = at(12, "state");
    assert_gate_fails(bump(&w, &mid), "poseidon partial rounds");
    // The output word differs from the last round's result.
    assert_gate_fails(
        bump(&w, &at(PERMUTATION_ROWS - 1, "state")),
        "poseidon full round",
    );
}

/// The port cells of the first permutation region whose path contains
/// `path`, with their row within the slot.
fn ports(w: &Witness<Harness<Words>>, path: &str) -> Vec<(usize, CellRecord)> {
    let slot = permutation(w, path);
    let region = slot[0].1.region;
    let top = slot[0].1.row - slot[0].0;
    w.find(path, "port")
        .into_iter()
        .filter(|c| c.region == region)
        .map(|c| (c.row - top, c))
        .collect()
}

#[test]
fn every_port_cell_is_constrained() {
    let w = record();
    let ports = ports(&w, "three");
    let rows: Vec<usize> = ports.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        rows,
        [
            0,
            1,
            2,
            PERMUTATION_ROWS - 3,
            PERMUTATION_ROWS - 2,
            PERMUTATION_ROWS - 1
        ]
    );
    for (_, cell) in &ports {
        assert_gate_fails(bump(&w, cell), "poseidon port");
    }
}

#[test]
fn a_whole_trace_of_another_input_fails_the_port() {
    // Every state and auxiliary cell replaced by the honest trace of another
    // input: each round holds, and only the ports still carry the copied
    // input and the output that later regions use.
    let w = record();
    let cells = permutation(&w, "three");
    // A lane's columns in configuration order.
    let columns = |annotation: &str| -> Vec<Column<Any>> {
        let set: BTreeSet<Column<Any>> = cells
            .iter()
            .filter(|(_, c)| c.annotation == annotation)
            .map(|(_, c)| c.column.into())
            .collect();
        set.into_iter().collect()
    };
    let (state_cols, aux_cols) = (columns("state"), columns("aux"));
    let honest: Vec<Fp> = state_cols
        .iter()
        .map(|col| {
            cells
                .iter()
                .find(|(r, c)| *r == 0 && Column::<Any>::from(c.column) == *col)
                .and_then(|(_, c)| c.value)
                .expect("an input word")
        })
        .collect();
    let other = trace([honest[0] + Fp::ONE, honest[1], honest[2]]);
    let changes: Vec<(CellRecord, Fp)> = cells
        .iter()
        .map(|(row, c)| {
            let col = Column::<Any>::from(c.column);
            let i = match c.annotation.as_str() {
                "state" => state_cols.iter().position(|x| *x == col),
                _ => aux_cols.iter().position(|x| *x == col).map(|i| 3 + i),
            }
            .expect("a lane column");
            (c.clone(), other[*row][i])
        })
        .collect();
    let failures = w
        .tamper_cells(&changes)
        .expect_err("a trace of another input must not verify");
    assert!(!failures.is_empty());
    assert!(
        failures
            .iter()
            .all(|f| format!("{f:?}").contains("poseidon port")),
        "only the port refuses a consistent trace: {failures:?}"
    );
    // Both sides refuse it: the input row (the gate's polynomials 0-2) and
    // the output row (3-5).
    let sides: BTreeSet<bool> = failures
        .iter()
        .filter_map(|f| match f {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => format!("{constraint}")
                .strip_prefix("Constraint ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
                .map(|i| i >= 3),
            _ => None,
        })
        .collect();
    assert_eq!(sides.len(), 2, "both port rows refuse: {failures:?}");
}

#[test]
fn padding_permutations_are_constrained_too() {
    let w = record();
    let cells = permutation(&w, "poseidon padding");
    let aux = cells
        .iter()
        .find(|(r, c)| *r == 20 && c.annotation == "aux")
        .map(|(_, c)| c.clone())
        .expect("a padded slot");
    assert_gate_fails(bump(&w, &aux), "poseidon partial rounds");
}

#[test]
fn a_changed_absorbed_word_fails_the_addition() {
    let w = record();
    let absorbed = w.nth("three", "absorbed", 0);
    // Changed as a wire, the permutation it feeds stays consistent only if
    // every later round changes too; the addition refuses it first.
    assert_gate_fails(w.shift(&absorbed, 1), "sponge absorb");
}

/// Checks a recorded circuit's permutations against the shared schedule:
/// every permutation region starts on a slot boundary (a multiple of
/// [`PERMUTATION_ROWS`]) and spans one slot, and a square in the last slot of
/// every lane is refused when changed (so the schedule reaches every slot).
pub(crate) fn assert_permutations_on_schedule<C>(w: &Witness<C>)
where
    C: halo2_proofs::plonk::Circuit<Fp> + Clone,
{
    use std::collections::BTreeMap;
    let mut regions: BTreeMap<usize, Vec<CellRecord>> = BTreeMap::new();
    for annotation in ["state", "aux"] {
        for c in w.find("poseidon", annotation) {
            regions.entry(c.region).or_default().push(c);
        }
    }
    assert!(!regions.is_empty(), "no permutation recorded");
    // The last region of each lane, keyed by the lane's first state column.
    let mut last: BTreeMap<String, (usize, CellRecord)> = BTreeMap::new();
    for cells in regions.values() {
        let top = cells.iter().map(|c| c.row).min().unwrap_or(0);
        let bottom = cells.iter().map(|c| c.row).max().unwrap_or(0);
        assert_eq!(
            top % PERMUTATION_ROWS,
            0,
            "a permutation starts at row {top}"
        );
        assert_eq!(
            bottom - top,
            PERMUTATION_ROWS - 1,
            "a permutation spans one slot"
        );
        let lane = cells
            .iter()
            .filter(|c| c.annotation == "state")
            .map(|c| format!("{:?}", c.column))
            .min()
            .unwrap_or_default();
        let square = cells
            .iter()
            .find(|c| c.annotation == "aux" && c.row == top + 1)
            .cloned()
            .expect("a square in the second row");
        if last.get(&lane).is_none_or(|(t, _)| *t < top) {
            last.insert(lane, (top, square));
        }
    }
    for (_, square) in last.values() {
        assert_gate_fails(bump(w, square), "poseidon full round");
    }
}

#[test]
fn the_test_circuit_keeps_its_permutations_on_schedule() {
    assert_permutations_on_schedule(&record());
}

/// Hashes after the schedule is assigned.
#[derive(Clone)]
struct Late;

impl Synth for Late {
    fn table(&self) -> TableSet {
        TableSet::new()
    }

    fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        let cells = cfg.witness(layouter, &[Value::known(Fp::from(1))])?;
        cfg.finish(layouter)?;
        cfg.hash_chip()?.hash(layouter, &cells)?;
        Ok(())
    }
}

#[test]
fn no_permutation_after_the_schedule() {
    assert!(MockProver::run(9, &Harness(Late), vec![vec![]]).is_err());
}
