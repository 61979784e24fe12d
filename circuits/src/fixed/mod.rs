//! Native fixed-point numerics.
//!
//! Values are signed integers at a power-of-two scale with a signed bit bound
//! ([`QFormat`]). Tensors carry their format ([`QTensor`]). Every quantized
//! operation has exactly one implementation here ([`ops`]); the trainer, the
//! witness generators and the circuit tests all call it.

mod activation;
mod error;
mod expmath;
mod format;
pub mod ops;
mod tensor;

pub use activation::{Activation, LEAKY_ONE};
pub use error::FixedError;
pub use format::QFormat;
pub use ops::DenseSpec;
pub use tensor::QTensor;
