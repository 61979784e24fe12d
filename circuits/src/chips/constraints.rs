//! The one place gates and lookup arguments are created, each under a name.
//!
//! Every chip registers its gates with [`gate`] and its lookups with
//! [`lookup`], so the project's constraints are a closed list
//! ([`GATES`], [`LOOKUPS`]) that tests can reason about. With the `coverage`
//! feature, the constraint named by the environment variable
//! [`DISABLE_ENV`] is switched off when a circuit is configured (a gate's
//! polynomials multiplied by zero, a lookup's inputs replaced by the table's
//! all-zero row), so `scripts/constraint_coverage.sh` can check that some
//! negative test fails without each one. Without the feature the switch
//! does not exist.

use ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Expression, TableColumn, VirtualCells};

use crate::Fp;

/// Every gate the project defines.
pub const GATES: &[&str] = &[
    "decompose step",
    "decompose end",
    "select",
    "mac first",
    "mac next",
    "merkle swap",
    "poseidon full round",
    "poseidon partial rounds",
    "poseidon port",
    "sponge absorb",
    "byte pack step",
    "byte pack end",
];

/// Every lookup argument the project defines.
pub const LOOKUPS: &[&str] = &["table lookup", "byte lookup"];

/// The environment variable naming the constraint to switch off (with the
/// `coverage` feature only).
pub const DISABLE_ENV: &str = "ZKPOT_DISABLE_CONSTRAINT";

/// Whether the constraint `name` is switched off for coverage measurement.
fn disabled(name: &str) -> bool {
    cfg!(feature = "coverage") && std::env::var(DISABLE_ENV).is_ok_and(|v| v == name)
}

/// Creates the gate `name` (one of [`GATES`]) with the polynomials `f`
/// returns.
pub fn gate(
    meta: &mut ConstraintSystem<Fp>,
    name: &'static str,
    f: impl FnOnce(&mut VirtualCells<'_, Fp>) -> Vec<Expression<Fp>>,
) {
    debug_assert!(GATES.contains(&name), "unregistered gate {name}");
    let off = disabled(name);
    meta.create_gate(name, |m| {
        let polys = f(m);
        if off {
            polys
                .into_iter()
                .map(|p| p * Expression::Constant(Fp::ZERO))
                .collect()
        } else {
            polys
        }
    });
}

/// Creates the lookup argument `name` (one of [`LOOKUPS`]) of the inputs `f`
/// returns into their table columns; returns its index.
pub fn lookup(
    meta: &mut ConstraintSystem<Fp>,
    name: &'static str,
    f: impl FnOnce(&mut VirtualCells<'_, Fp>) -> Vec<(Expression<Fp>, TableColumn)>,
) -> usize {
    debug_assert!(LOOKUPS.contains(&name), "unregistered lookup {name}");
    let off = disabled(name);
    let index = meta.lookup(|m| {
        let map = f(m);
        if off {
            map.into_iter()
                .map(|(_, t)| (Expression::Constant(Fp::ZERO), t))
                .collect()
        } else {
            map
        }
    });
    #[cfg(test)]
    LOOKUP_NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if index == 0 {
            names.clear();
        }
        names.push(name);
    });
    index
}

#[cfg(test)]
thread_local! {
    /// The names of the lookups of the circuit configured last on this
    /// thread, by index (what `MockProver` reports).
    static LOOKUP_NAMES: std::cell::RefCell<Vec<&'static str>> = const {
        std::cell::RefCell::new(Vec::new())
    };
}

/// The name of lookup argument `index` of the circuit configured last on
/// this thread (tests only).
#[cfg(test)]
pub(crate) fn lookup_name(index: usize) -> Option<&'static str> {
    LOOKUP_NAMES.with(|names| names.borrow().get(index).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No chip creates a gate or lookup except through this module, and every
    /// name it passes is in the lists, so the lists are the whole set.
    #[test]
    fn every_constraint_is_registered_here() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        let mut names = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.ends_with("constraints.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for raw in ["create_gate(", "meta.lookup("] {
                    assert!(!text.contains(raw), "{} calls {raw}", path.display());
                }
                for call in ["constraints::gate(meta, \"", "constraints::lookup(meta, \""] {
                    for part in text.split(call).skip(1) {
                        names.push(part.split('"').next().unwrap_or("").to_string());
                    }
                }
            }
        }
        for n in &names {
            assert!(
                GATES.contains(&n.as_str()) || LOOKUPS.contains(&n.as_str()),
                "{n} is not listed"
            );
        }
        for listed in GATES.iter().chain(LOOKUPS) {
            assert!(
                names.iter().any(|n| n == listed),
                "{listed} is never created"
            );
        }
    }
}
