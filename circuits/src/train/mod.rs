//! Training: the run specification, the native fixed-point SGD step, and the
//! step circuit that proves it.

pub mod native;
pub mod spec;

pub use native::{init_params, sgd_step, MlpParams};
pub use spec::{Loss, TrainFormats, TrainSpec};
