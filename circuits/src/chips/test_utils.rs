//! Test harness shared by the chips' tests: a circuit over [`CoreConfig`] that
//! runs a test-defined synthesis, and assertions that name the failing gate or
//! lookup.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

use super::core::{CoreConfig, CoreShape};
use super::table::TableSet;
use crate::Fp;

/// The MAC shape tests use: small, with lane equality so every chip path runs.
pub const TEST_SHAPE: CoreShape = CoreShape {
    width: 3,
    lanes: 2,
    lane_equality: true,
    lookup_lanes: 2,
    hash_lanes: 2,
    pack_lanes: 0,
};

/// What a test circuit does.
pub trait Synth: Clone {
    /// The table the circuit loads.
    fn table(&self) -> TableSet;
    /// Assigns the circuit.
    fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error>;
}

/// A circuit running a [`Synth`].
#[derive(Clone)]
pub struct Harness<T: Synth>(pub T);

impl<T: Synth> Circuit<Fp> for Harness<T> {
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> CoreConfig {
        CoreConfig::configure(meta, TEST_SHAPE)
    }

    fn synthesize(&self, cfg: CoreConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        cfg.load_table(&mut layouter, &self.0.table())?;
        self.0.synth(&cfg, &mut layouter)?;
        cfg.finish(&mut layouter)
    }
}

/// Runs the mock prover and returns its verdict.
pub fn mock<T: Synth>(k: u32, t: T, instance: Vec<Fp>) -> Result<(), Vec<VerifyFailure>> {
    match MockProver::run(k, &Harness(t), vec![instance]) {
        Ok(p) => p.verify(),
        Err(e) => panic!("mock prover could not run: {e:?}"),
    }
}

/// Asserts that some failure is the named gate's constraint.
pub fn assert_gate_fails(result: Result<(), Vec<VerifyFailure>>, gate: &str) {
    let failures = result.expect_err("a tampered witness must not verify");
    let hit = failures.iter().any(|f| match f {
        VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
            format!("{constraint}").contains(gate)
        }
        _ => false,
    });
    assert!(hit, "expected gate `{gate}` to fail, got {failures:#?}");
}

/// Asserts that some failure is a lookup into the shared table (every lane's
/// lookup argument is one, so any index qualifies).
pub fn assert_lookup_fails(result: Result<(), Vec<VerifyFailure>>) {
    let failures = result.expect_err("a tampered witness must not verify");
    let hit = failures
        .iter()
        .any(|f| matches!(f, VerifyFailure::Lookup { .. }));
    assert!(hit, "expected the lookup to fail, got {failures:#?}");
}

/// Asserts that some failure is the lookup argument `name` (one of
/// [`LOOKUPS`](super::constraints::LOOKUPS)) of the circuit just run.
pub fn assert_named_lookup_fails(result: Result<(), Vec<VerifyFailure>>, name: &str) {
    let failures = result.expect_err("a tampered witness must not verify");
    let hit = failures.iter().any(|f| match f {
        VerifyFailure::Lookup { lookup_index, .. } => {
            super::constraints::lookup_name(*lookup_index) == Some(name)
        }
        _ => false,
    });
    assert!(hit, "expected lookup `{name}` to fail, got {failures:#?}");
}

/// Asserts that some failure is a broken copy constraint.
pub fn assert_copy_fails(result: Result<(), Vec<VerifyFailure>>) {
    let failures = result.expect_err("a tampered witness must not verify");
    let hit = failures
        .iter()
        .any(|f| matches!(f, VerifyFailure::Permutation { .. }));
    assert!(hit, "expected a copy constraint to fail, got {failures:#?}");
}

/// The number of the region each failure happened in, if any.
pub fn failing_regions(result: &Result<(), Vec<VerifyFailure>>) -> Vec<usize> {
    use halo2_proofs::dev::FailureLocation;
    let mut out: Vec<usize> = match result {
        Ok(()) => vec![],
        Err(fs) => fs
            .iter()
            .filter_map(|f| {
                let loc = match f {
                    VerifyFailure::Lookup { location, .. } => location,
                    VerifyFailure::ConstraintNotSatisfied { location, .. } => location,
                    VerifyFailure::Permutation { location, .. } => location,
                    _ => return None,
                };
                match loc {
                    // `Region` shows as "Region <index> ('<name>')".
                    FailureLocation::InRegion { region, .. } => format!("{region}")
                        .split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse().ok()),
                    FailureLocation::OutsideRegion { .. } => None,
                }
            })
            .collect(),
    };
    out.sort();
    out.dedup();
    out
}
