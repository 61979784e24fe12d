//! Proving inferences of the small fixture models (MLP 4-16-3 and a CNN on 8x8
//! inputs) with committed weights, a private input and a public output. The
//! MNIST-sized MLP 784-128-10 takes minutes a proof today and is measured once
//! by `zkpot bench inference` instead.

use criterion::{criterion_group, criterion_main, Criterion};
use zkpot::bench::inference_case;

use zkpot::params::ParamsCache;

fn inference(c: &mut Criterion) {
    let cache = ParamsCache::locate(None).expect("a cache directory");
    let mut group = c.benchmark_group("inference");
    group.sample_size(10);
    for name in ["mlp_4_16_3", "cnn_8x8"] {
        let circuit = inference_case(name).expect("fixture model");
        let m = circuit.measure().expect("fits");
        let params = cache.get(m.k).expect("parameters");
        let pk = circuit.proving_key(&params).expect("keys");
        let (public, _) = circuit.public_inputs().expect("native pass");
        group.bench_function(format!("prove {name} ({} rows, k={})", m.rows, m.k), |b| {
            b.iter(|| circuit.clone().prove(&params, &pk, &public).expect("proof"))
        });
    }
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
