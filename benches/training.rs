//! Proving one SGD step (batch 16) on digits of the 64-32-10 MLP and of a CNN
//! (3x3 convolution to 4 channels, ReLU, 2x2 average pooling, dense), with
//! their 16 Merkle openings and both weight commitments; and batch-verifying
//! an epoch's worth (113) of step proofs, as `zkpot verify RUN` does.

use criterion::{criterion_group, criterion_main, Criterion};
use zkpot::bench::training_case;
use zkpot::circuits::proving::{prove, proving_key, verify_batch};
use zkpot::params::ParamsCache;

fn training(c: &mut Criterion) {
    let cache = ParamsCache::locate(None).expect("a cache directory");
    let circuit = training_case("mlp:64-32-10", 16, 1).expect("digits step");
    let m = circuit.measure().expect("fits");
    let params = cache.get(m.k).expect("parameters");
    let pk = proving_key(&params, &circuit.describe()).expect("keys");
    let (public, _) = circuit.public_inputs().expect("native step");
    let mut group = c.benchmark_group("training");
    group.sample_size(10);
    group.bench_function(
        format!("prove step 64-32-10 b16 ({} rows, k={})", m.rows, m.k),
        |b| b.iter(|| prove(&params, &pk, circuit.clone(), &public).expect("proof")),
    );
    // Batch verification costs the same for 113 copies of one proof as for
    // 113 different proofs of the circuit.
    let proof = prove(&params, &pk, circuit.clone(), &public).expect("proof");
    let epoch: Vec<_> = (0..113).map(|_| (public.clone(), proof.clone())).collect();
    group.bench_function("batch-verify 113 step proofs (one epoch)", |b| {
        b.iter(|| assert!(verify_batch(&params, pk.get_vk(), &epoch)))
    });
    let cnn = training_case("cnn:1x8x8-c4k3p1-relu-avg2-d10", 16, 1).expect("digits CNN step");
    let m = cnn.measure().expect("fits");
    let params = cache.get(m.k).expect("parameters");
    let pk = proving_key(&params, &cnn.describe()).expect("keys");
    let (public, _) = cnn.public_inputs().expect("native step");
    group.bench_function(
        format!(
            "prove step cnn 1x8x8-c4k3p1-relu-avg2-d10 b16 ({} rows, k={})",
            m.rows, m.k
        ),
        |b| b.iter(|| prove(&params, &pk, cnn.clone(), &public).expect("proof")),
    );
    group.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
