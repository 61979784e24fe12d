//! Proofs of evaluation: "this model, committed as `C_W`, scores these counts
//! on these committed rows".
//!
//! An evaluation opens each scored row against the dataset's root inside the
//! circuit, runs the committed model's fixed-point forward pass and argmax
//! on it, and proves the confusion counts of committed labels against
//! predictions. Rows are chunked over proofs of one circuit, batch-verified,
//! and the counts summed by the verifier. The rows are a run's held-out
//! split (a function of the dataset's public root and the run's beacon, so
//! the prover cannot pick an easy test set, and no training step sampled
//! them) or a range of a dataset.
//!
//! - [`statement`]: one proof's statement and batched verification;
//! - [`file`]: the evaluation file, `eval.json`;
//! - [`prove`]: scoring a run's model on its held-out rows, or an imported
//!   model on a range of a committed dataset;
//! - [`verify`]: verifying an evaluation, and its link to a run.

pub mod file;
pub mod prove;
pub mod statement;
pub mod verify;

pub use file::{wilson_interval, EvalFile, Selection};
pub use prove::{evaluate, evaluate_model, evaluate_run, prepare_model, EvalOptions, EvalReport};
pub use statement::{verify_evals, EvalRows, EvalStatement};
pub use verify::{verify_eval, verify_run_eval, EvalVerdict};
