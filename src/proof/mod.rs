//! Proof bytes: the versioned envelope every zkpot proof travels in, and its
//! errors. Statements and verification live with what they prove (training
//! runs in `train`, datasets in `data`).

mod envelope;
mod error;

pub use envelope::{Envelope, StatementKind, ENVELOPE_VERSION, MAGIC};
pub use error::ProofError;

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::Params;
use zkpot_circuits::proving::{verify, verify_batch};
use zkpot_circuits::Fp;

/// Verifies proofs of one circuit: alone, or together with halo2's batch
/// verifier; a failing batch is retried proof by proof to name the culprit
/// (by its index among all proofs checked).
pub fn verify_group(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    members: &[usize],
    publics: &[Vec<Fp>],
    envelopes: &[Envelope],
) -> Result<(), ProofError> {
    let check = |i: usize| verify(params, vk, &publics[i], &envelopes[i].proof).is_ok();
    if let [only] = members {
        return if check(*only) {
            Ok(())
        } else {
            Err(ProofError::InvalidAt { index: *only })
        };
    }
    let batch: Vec<(Vec<Fp>, Vec<u8>)> = members
        .iter()
        .map(|i| (publics[*i].clone(), envelopes[*i].proof.clone()))
        .collect();
    if verify_batch(params, vk, &batch) {
        return Ok(());
    }
    match members.iter().find(|i| !check(**i)) {
        Some(i) => Err(ProofError::InvalidAt { index: *i }),
        None => Err(ProofError::Invalid),
    }
}
