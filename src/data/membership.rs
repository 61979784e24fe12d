//! Proofs that a row belongs to a committed dataset, revealing only its index.

use zkpot_circuits::circuits::membership::MembershipCircuit;
use zkpot_circuits::proving::{prove, proving_key, verify, verifying_key};
use zkpot_circuits::Fp;

use super::{Commitment, Dataset};
use crate::params::ParamsCache;
use crate::Error;

/// A membership proof: the row index it opens and the halo2 proof bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipProof {
    /// The opened row's index.
    pub index: u64,
    /// The halo2 proof.
    pub proof: Vec<u8>,
}

fn circuit_for(commitment: &Commitment) -> Result<MembershipCircuit, Error> {
    let depth = commitment.depth as usize;
    Ok(MembershipCircuit::new(
        commitment.schema.layout(),
        depth,
        None,
    )?)
}

/// Proves that row `index` of `dataset` is committed under its root.
pub fn prove_membership(
    cache: &ParamsCache,
    dataset: &Dataset,
    index: u64,
) -> Result<MembershipProof, Error> {
    let opening = dataset.opening(index)?;
    let layout = dataset.commitment().schema.layout();
    let circuit =
        MembershipCircuit::new(layout, dataset.commitment().depth as usize, Some(opening))?;
    let params = cache.get(circuit.k()?)?;
    let pk = proving_key(&params, &circuit.describe())?;
    let public = circuit
        .public_inputs()
        .ok_or(Error::Internal("membership circuit without opening"))?;
    let proof = prove(&params, &pk, circuit, &public)?;
    Ok(MembershipProof { index, proof })
}

/// Verifies a membership proof against a public commitment: `Ok(())` only if
/// the row at `proof.index` is in the committed dataset.
pub fn verify_membership(
    cache: &ParamsCache,
    commitment: &Commitment,
    proof: &MembershipProof,
) -> Result<(), Error> {
    if proof.index >= commitment.n_rows {
        return Err(super::DataError::RowOutOfRange {
            index: proof.index,
            n_rows: commitment.n_rows,
        }
        .into());
    }
    let circuit = circuit_for(commitment)?;
    let params = cache.get(circuit.k()?)?;
    let vk = verifying_key(&params, &circuit)?;
    let public = [commitment.tree_root()?, Fp::from(proof.index)];
    Ok(verify(&params, &vk, &public, &proof.proof)?)
}
