//! Pinned digests: the Poseidon hashes behind every commitment and dataset
//! root keep their values. The circuits are checked equal to these native
//! functions (each chip's tests), so a change of Poseidon chip or layout
//! that passes here changes no commitment, root or statement.

use std::path::Path;

use zkpot::circuits::chips::hash::{hash_native, sponge_native};
use zkpot::circuits::chips::merkle::node_native;
use zkpot::circuits::Fp;
use zkpot::data::{commit_csv, CommitOptions, DatasetSecret};

fn hex(v: Fp) -> String {
    format!("{v:?}")
}

fn words(n: u64) -> Vec<Fp> {
    (1..=n).map(Fp::from).collect()
}

#[test]
fn hashes_keep_their_values() {
    assert_eq!(
        hex(hash_native(&words(3))),
        "0x18ab42c61eea3e9e5f26229840c68c648b7818c6acd498365082aabe14e1fcea"
    );
    assert_eq!(
        hex(hash_native(&words(20))),
        "0x3520abbd26b795f3c1aa8af8920674c0d25b93c4bd759ed75f5c3f62ef25bd54"
    );
    assert_eq!(
        hex(sponge_native(&words(5))),
        "0x1efb11498c787724e4cefe41511b0b85cef666db9d3450cde98c4688b3bb6123"
    );
    assert_eq!(
        hex(node_native(Fp::from(1), Fp::from(2))),
        "0x3555a5ecb43c9998030ad4b06e7982eb3b4600ce9023c6838975dc0794bde34c"
    );
}

#[test]
fn the_iris_root_keeps_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv");
    let opts = CommitOptions {
        secret: Some(DatasetSecret::from_bytes([7; 32])),
        ..CommitOptions::default()
    };
    let c = commit_csv(&csv, dir.path(), &opts).unwrap();
    assert_eq!(
        c.root,
        "0xb21e9bf25fbfd5b3cdbe489537ccec428572a809830d456b55dd6e765b977d19"
    );
    assert_eq!(
        c.tree_root,
        "0x647e199a6882c9f35a8fde5bb84716bf669d6bca8e231185db11f9d3f936430d"
    );
}
