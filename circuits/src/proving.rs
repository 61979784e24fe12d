//! Thin helpers over halo2's key generation, proving and verification for
//! zkpot's circuits (one instance column, Vesta IPA commitments, Blake2b
//! transcripts).

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, BatchVerifier, Circuit, Error, ProvingKey,
    SingleVerifier, VerifyingKey,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use rand::rngs::SysRng;
use rand_core::UnwrapErr;

use crate::Fp;

/// Builds the verifying key of a circuit from its description (no witness).
pub fn verifying_key<C: Circuit<Fp>>(
    params: &Params<EqAffine>,
    circuit: &C,
) -> Result<VerifyingKey<EqAffine>, Error> {
    keygen_vk(params, circuit)
}

/// Builds the proving key of a circuit from its description (no witness).
pub fn proving_key<C: Circuit<Fp>>(
    params: &Params<EqAffine>,
    circuit: &C,
) -> Result<ProvingKey<EqAffine>, Error> {
    let vk = keygen_vk(params, circuit)?;
    keygen_pk(params, vk, circuit)
}

/// Creates a proof that `circuit` is satisfied with `public` as its public
/// inputs. Randomness comes from the operating system.
pub fn prove<C: Circuit<Fp>>(
    params: &Params<EqAffine>,
    pk: &ProvingKey<EqAffine>,
    circuit: C,
    public: &[Fp],
) -> Result<Vec<u8>, Error> {
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        params,
        pk,
        &[circuit],
        &[&[public]],
        UnwrapErr(SysRng),
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}

/// Verifies one proof against its public inputs.
pub fn verify(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    public: &[Fp],
    proof: &[u8],
) -> Result<(), Error> {
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(proof);
    verify_proof(
        params,
        vk,
        SingleVerifier::new(params),
        &[&[public]],
        &mut transcript,
    )
}

/// Verifies many proofs of one circuit together; `true` only if all are valid.
pub fn verify_batch(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    proofs: &[(Vec<Fp>, Vec<u8>)],
) -> bool {
    let mut batch = BatchVerifier::new();
    for (public, proof) in proofs {
        batch.add_proof(vec![vec![public.clone()]], proof.clone());
    }
    batch.finalize(params, vk)
}
