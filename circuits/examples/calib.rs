use halo2_proofs::dev::MockProver;
use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, SingleVerifier};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use rand::rngs::SysRng;
use rand_core::UnwrapErr;
use std::time::Instant;
use zkpot_circuits::circuits::dense::{DenseLayerCircuit, DenseWitness};
use zkpot_circuits::fixed::{Activation, DenseSpec, QFormat, QTensor};

fn run<const W: usize, const G: usize>(inputs: usize, outputs: usize, mock: bool) {
    let bits: u32 = std::env::var("BITS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let f = QFormat::new(7, bits).unwrap();
    let spec = DenseSpec {
        inputs,
        outputs,
        input_format: f,
        weight_format: f,
        output_format: f,
        activation: Some(Activation::Relu),
    };
    let mut s = 12345u64;
    let mut rnd = |m: i64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) as i64 % (2 * m + 1)) - m
    };
    let x = QTensor::from_vec(
        &[1, inputs],
        (0..inputs).map(|_| rnd(60).abs()).collect(),
        f,
        "x",
    )
    .unwrap();
    let w = QTensor::from_vec(
        &[outputs, inputs],
        (0..inputs * outputs).map(|_| rnd(3)).collect(),
        f,
        "w",
    )
    .unwrap();
    let b = QTensor::from_vec(
        &[outputs],
        (0..outputs).map(|_| rnd(1000)).collect(),
        spec.bias_format(),
        "b",
    )
    .unwrap();
    let c = DenseLayerCircuit::<W, G>::new(
        spec,
        1,
        true,
        12,
        Some(DenseWitness {
            x,
            w,
            bias: Some(b),
        }),
    )
    .unwrap();
    let k = c.k().unwrap();
    let pi = c.public_inputs().unwrap();
    println!(
        "W={W} G={G} {inputs}->{outputs} k={k} sizing={:?}",
        c.sizing()
    );
    if mock {
        let t = Instant::now();
        let p = MockProver::run(k, &c, vec![pi.clone()]).unwrap();
        p.assert_satisfied();
        println!(" mock ok {:?}", t.elapsed());
    }
    let t = Instant::now();
    let path = format!("/tmp/params_{k}.bin");
    let params: Params<EqAffine> = match std::fs::File::open(&path) {
        Ok(f) => Params::read(&mut std::io::BufReader::new(f)).unwrap(),
        Err(_) => {
            let p = Params::new(k);
            let mut f = std::fs::File::create(&path).unwrap();
            p.write(&mut f).unwrap();
            p
        }
    };
    println!(" params {:?}", t.elapsed());
    let t = Instant::now();
    let vk = keygen_vk(&params, &c.describe()).unwrap();
    let pk = keygen_pk(&params, vk, &c.describe()).unwrap();
    println!(" keygen {:?}", t.elapsed());
    let t = Instant::now();
    let mut tr = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        &params,
        &pk,
        &[c.clone()],
        &[&[&pi]],
        UnwrapErr(SysRng),
        &mut tr,
    )
    .unwrap();
    let proof = tr.finalize();
    let el = t.elapsed();
    println!(
        " prove {:?} bytes={} macs/s={:.0}",
        el,
        proof.len(),
        (inputs * outputs) as f64 / el.as_secs_f64()
    );
    let t = Instant::now();
    let mut tr = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&proof[..]);
    verify_proof(
        &params,
        pk.get_vk(),
        SingleVerifier::new(&params),
        &[&[&pi]],
        &mut tr,
    )
    .unwrap();
    println!(" verify {:?}", t.elapsed());
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let which = a.get(1).map(|s| s.as_str()).unwrap_or("small");
    match which {
        "small" => run::<8, 2>(10, 5, true),
        "8x2" => run::<8, 2>(784, 128, false),
        "4x4" => run::<4, 4>(784, 128, false),
        "8x1" => run::<8, 1>(784, 128, false),
        "16x1" => run::<16, 1>(784, 128, false),
        "4x2" => run::<4, 2>(784, 128, false),
        "8x4" => run::<8, 4>(784, 128, false),
        "4x8" => run::<4, 8>(784, 128, false),
        "16x2" => run::<16, 2>(784, 128, false),
        _ => {}
    }
}
