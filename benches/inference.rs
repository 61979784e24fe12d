//! Proving and verifying inferences of the fixture models (MLP 4-16-3, CNNs on
//! 8x8 inputs with average and max pooling, MLP 784-128-10) with committed
//! weights, a private input and a public output. `zkpot bench inference`
//! reports the rest (rows, k, columns, keygen, proof bytes, peak memory).

use criterion::{criterion_group, criterion_main, Criterion};
use zkpot::bench::inference_case;

use zkpot::params::ParamsCache;
use zkpot_circuits::proving::verify;

fn inference(c: &mut Criterion) {
    let cache = ParamsCache::locate(None).expect("a cache directory");
    let mut group = c.benchmark_group("inference");
    group.sample_size(10);
    for name in zkpot::bench::INFERENCE_FIXTURES {
        let circuit = inference_case(name).expect("fixture model");
        let m = circuit.measure().expect("fits");
        let params = cache.get(m.k).expect("parameters");
        let pk = circuit.proving_key(&params).expect("keys");
        let (public, _) = circuit.public_inputs().expect("native pass");
        group.bench_function(format!("prove {name} ({} rows, k={})", m.rows, m.k), |b| {
            b.iter(|| circuit.clone().prove(&params, &pk, &public).expect("proof"))
        });
        let proof = circuit.clone().prove(&params, &pk, &public).expect("proof");
        group.bench_function(format!("verify {name}"), |b| {
            b.iter(|| verify(&params, pk.get_vk(), &public, &proof).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
