//! Real membership proofs over a committed dataset: an honest opening verifies;
//! a changed feature, a changed label, a wrong salt, a wrong sibling, another
//! index, another dataset and a flipped byte are all rejected.

use std::path::Path;

use zkpot::circuits::circuits::membership::{MembershipCircuit, RowOpening};
use zkpot::circuits::proving::{prove, proving_key, verify};
use zkpot::circuits::Fp;
use zkpot::data::membership::{prove_membership, verify_membership, MembershipProof};
use zkpot::data::{commit_csv, CommitOptions, Dataset, DatasetSecret};
use zkpot::params::ParamsCache;

fn committed(secret: u8) -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv");
    let opts = CommitOptions {
        secret: Some(DatasetSecret::from_bytes([secret; 32])),
        ..CommitOptions::default()
    };
    commit_csv(&iris, dir.path(), &opts).unwrap();
    let d = Dataset::load(dir.path()).unwrap();
    (dir, d)
}

#[test]
fn membership_proofs_verify_and_reject_tampering() {
    let cache = ParamsCache::locate(None).unwrap();
    let (_dir, data) = committed(11);
    let c = data.commitment().clone();
    let proof = prove_membership(&cache, &data, 7).unwrap();
    verify_membership(&cache, &c, &proof).unwrap();

    // Claimed for another index.
    let other = MembershipProof {
        index: 8,
        ..proof.clone()
    };
    assert!(verify_membership(&cache, &c, &other).is_err());
    // Outside the dataset.
    let outside = MembershipProof {
        index: 150,
        ..proof.clone()
    };
    assert!(verify_membership(&cache, &c, &outside).is_err());
    // Against another dataset's commitment (same rows, other secret).
    let (_dir2, data2) = committed(12);
    assert!(verify_membership(&cache, data2.commitment(), &proof).is_err());
    // A flipped byte.
    let mut flipped = proof.clone();
    flipped.proof[100] ^= 4;
    assert!(verify_membership(&cache, &c, &flipped).is_err());
}

#[test]
fn tampered_openings_do_not_yield_valid_proofs() {
    let cache = ParamsCache::locate(None).unwrap();
    let (_dir, data) = committed(13);
    let layout = data.commitment().schema.layout();
    let depth = data.commitment().depth as usize;
    let honest = data.opening(42).unwrap();
    let public = [data.tree_root(), Fp::from(42)];
    let describe = MembershipCircuit::new(layout, depth, None).unwrap();
    let params = cache.get(describe.k().unwrap()).unwrap();
    let pk = proving_key(&params, &describe).unwrap();

    let attempt = |o: RowOpening| {
        let circuit = MembershipCircuit::new(layout, depth, Some(o)).unwrap();
        let proof = prove(&params, &pk, circuit, &public).unwrap();
        verify(&params, pk.get_vk(), &public, &proof)
    };
    assert!(attempt(honest.clone()).is_ok());

    let mut feature = honest.clone();
    feature.values[1] += 1;
    assert!(attempt(feature).is_err(), "changed feature");
    let mut label = honest.clone();
    label.values[4] = (label.values[4] + 1) % 3;
    assert!(attempt(label).is_err(), "changed label");
    let mut salt = honest.clone();
    salt.salt += Fp::from(1);
    assert!(attempt(salt).is_err(), "wrong salt");
    let mut sibling = honest.clone();
    sibling.path.siblings[3] += Fp::from(1);
    assert!(attempt(sibling).is_err(), "wrong sibling");
    // The opening of row 43 presented as row 42.
    assert!(
        attempt(data.opening(43).unwrap()).is_err(),
        "path of another index"
    );
}
