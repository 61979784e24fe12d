//! Proof of training: honest sampling, the native fixed-point trainer with a
//! float trainer for comparison, and (built on them) proven training runs.

pub mod float;
pub mod sampling;
pub mod trainer;
