//! Proof bytes: the versioned envelope every zkpot proof travels in, and its
//! errors. Statements and verification live with what they prove (training
//! runs in `train`, datasets in `data`).

mod envelope;
mod error;

pub use envelope::{Envelope, StatementKind, ENVELOPE_VERSION, MAGIC, MAX_ENVELOPE_FILE};
pub use error::ProofError;

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::Params;
use zkpot_circuits::proving::{verify, verify_batch};
use zkpot_circuits::Fp;

/// Reads and parses the proof file `path` (named `shown` in errors, a parse
/// error too): a missing file is missing, a file that is not a regular one
/// or is larger than any envelope is refused without reading it whole.
pub fn read_envelope_file(path: &std::path::Path, shown: &str) -> Result<Envelope, ProofError> {
    let bytes = crate::files::read_bounded(path, MAX_ENVELOPE_FILE).map_err(|e| {
        ProofError::Statement(if e.kind() == std::io::ErrorKind::NotFound {
            format!("proof {shown} is missing")
        } else {
            format!("proof {shown}: {e}")
        })
    })?;
    Envelope::from_bytes(&bytes).map_err(|e| ProofError::InFile {
        file: shown.to_string(),
        error: Box::new(e),
    })
}

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

/// Refuses a statement whose circuit is larger (`2^k` rows) than any zkpot
/// prover makes for its kind: no valid proof of it exists, and building
/// its key would only cost the verifier minutes and memory.
pub fn check_size(k: u32, max_k: u32) -> Result<(), crate::Error> {
    if k > max_k {
        return Err(ProofError::Statement(format!(
            "its circuit needs k = {k}; zkpot proves this kind of statement at k = {max_k} at \
             most, so no valid proof of this size exists"
        ))
        .into());
    }
    Ok(())
}

/// Verifies proofs grouped by circuit (`groups` maps a circuit description to
/// the indices of its proofs): for each group, `circuit_of` plans the
/// circuit of its first proof's statement, whose verifying key is rebuilt
/// from the description alone, and the group is checked with
/// [`verify_group`]. A circuit above `max_k` is refused
/// ([`check_size`]) before any parameters or keys are built.
pub fn verify_by_circuit<C: halo2_proofs::plonk::Circuit<Fp>>(
    cache: &crate::params::ParamsCache,
    groups: &std::collections::BTreeMap<Vec<u8>, Vec<usize>>,
    circuit_of: impl Fn(usize) -> Result<(C, u32), crate::Error>,
    max_k: u32,
    publics: &[Vec<Fp>],
    envelopes: &[Envelope],
) -> Result<(), crate::Error> {
    for members in groups.values() {
        let first = *members
            .first()
            .ok_or(crate::Error::Internal("an empty group"))?;
        let (circuit, k) = circuit_of(first)?;
        check_size(k, max_k)?;
        let params = cache.get(k)?;
        let vk = zkpot_circuits::proving::verifying_key(&params, &circuit)?;
        verify_group(&params, &vk, members, publics, envelopes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuits_larger_than_any_prover_makes_are_refused() {
        assert!(check_size(18, 18).is_ok());
        let e = check_size(19, 18).unwrap_err();
        assert!(
            matches!(&e, crate::Error::Proof(ProofError::Statement(m)) if m.contains("k = 19")),
            "{e}"
        );
    }
}
