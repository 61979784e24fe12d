//! Training: the run specification, the native fixed-point SGD step, and the
//! step circuit that proves it.

pub mod arch;
pub mod backward;
#[cfg(test)]
mod census;
pub mod circuit;
pub mod commit;
pub mod native;
pub mod softmax;
pub mod spec;
pub mod step;
#[cfg(test)]
mod tampering;

pub use arch::{Arch, ArchError, ConvLayer, ConvLayers};
pub use circuit::{StepWitness, TrainStepCircuit};
pub use commit::weights_commitment_native;
pub use native::{init_params, sgd_step, MlpParams};
pub use spec::{Loss, TrainFormats, TrainSpec};
#[cfg(test)]
mod cnn_tests;
