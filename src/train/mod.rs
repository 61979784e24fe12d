//! Proof of training: honest sampling, the native fixed-point trainer with a
//! float trainer for comparison, step statements and their verification, and
//! training runs (train, prove, resume, verify).

pub mod float;
pub mod run;
pub mod sampling;
pub mod spec_file;
pub mod statement;
pub mod trainer;
