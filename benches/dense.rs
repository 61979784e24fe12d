//! Proving time of dense layers with ReLU (batch 1, private weights): 64->64 and
//! 784->128. Prints the multiply-adds proven per second of the median run.

use criterion::{criterion_group, criterion_main, Criterion};
use zkpot::bench::dense_case;
use zkpot::circuits::proving::{prove, proving_key};
use zkpot::params::ParamsCache;

fn dense(c: &mut Criterion) {
    let cache = ParamsCache::locate(None).expect("a cache directory");
    let mut group = c.benchmark_group("dense");
    group.sample_size(10);
    for (inputs, outputs) in [(64usize, 64usize), (784, 128)] {
        let circuit = dense_case(inputs, outputs).expect("benchmark layer fits its format");
        let k = circuit.k().expect("fits a supported k");
        let params = cache.get(k).expect("parameters");
        let pk = proving_key(&params, &circuit.describe()).expect("keys");
        let public = circuit.public_inputs().expect("witness");
        let name = format!("prove {inputs}->{outputs} relu (k={k})");
        let mut times = Vec::new();
        group.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    prove(&params, &pk, circuit.clone(), &public).expect("proof");
                }
                let t = start.elapsed();
                times.push(t.as_secs_f64() / iters as f64);
                t
            })
        });
        times.sort_by(|a, b| a.total_cmp(b));
        if let Some(median) = times.get(times.len() / 2) {
            let macs = (inputs * outputs) as f64;
            println!(
                "{name}: median {median:.3} s, {:.0} multiply-adds per second",
                macs / median
            );
        }
    }
    group.finish();
}

criterion_group!(benches, dense);
criterion_main!(benches);
