//! The step circuit on convolutional networks: random small CNNs (one or two
//! convolutions, stride 1 or 2, padding, average or max pooling, ReLU or
//! not, one or two dense layers, either loss) prove exactly the native
//! trainer's weights; and tampered backward wiring (a kernel-gradient cell,
//! a max-pool choice, a pooled delta, a convolution's input delta) fails at
//! the gate or lookup named.

use ff::Field;
use halo2_proofs::dev::MockProver;

use super::arch::{Arch, ArchLayers, LayerToken};
use super::circuit::{StepWitness, TrainStepCircuit};
use super::native::{init_params, sgd_step};
use super::spec::{Loss, TrainFormats, TrainSpec};
use crate::chips::test_utils::{assert_gate_fails, assert_named_lookup_fails};
use crate::circuits::membership::{test_openings, RowLayout, RowOpening};
use crate::fixed::QFormat;
use crate::tamper::Witness;
use crate::Fp;

/// 2 x 4 x 4 inputs (32 features of 8 bits), two classes.
const LAYOUT: RowLayout = RowLayout {
    features: 32,
    feature_bits: 8,
    label_bits: 1,
};

/// Eight rows in a tree of depth 3.
fn dataset() -> Vec<RowOpening> {
    let rows: Vec<Vec<i64>> = (0..8i64)
        .map(|r| {
            let mut v: Vec<i64> = (0..32).map(|i| ((r * 37 + i * 11) % 120) - 50).collect();
            v.push(r % 2);
            v
        })
        .collect();
    let salts: Vec<Fp> = (0..8u64).map(|r| Fp::from(300 + r)).collect();
    test_openings(&LAYOUT, &rows, &salts)
}

fn spec(model: &str, loss: Loss) -> TrainSpec {
    let arch = Arch::parse(model).unwrap();
    TrainSpec {
        widths: arch.widths,
        conv: arch.conv,
        loss,
        lr_num: 32,
        lr_shift: 8,
        batch: 2,
        formats: TrainFormats::for_input(QFormat::new(6, 8).unwrap()),
    }
}

fn circuit(spec: TrainSpec, seed: u64, picks: &[usize]) -> TrainStepCircuit {
    let data = dataset();
    let witness = StepWitness {
        params: init_params(&spec, seed),
        salt_in: Fp::from(seed),
        salt_out: Fp::from(seed + 1),
        openings: picks.iter().map(|i| data[*i].clone()).collect(),
        context: Fp::from(7),
    };
    TrainStepCircuit::new(spec, LAYOUT, 3, 1, Some(witness)).unwrap()
}

fn run(c: &TrainStepCircuit, public: Vec<Fp>) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let k = c.measure().unwrap().k;
    MockProver::run(k, c, vec![public]).unwrap().verify()
}

/// The circuit accepts the native trainer's `C_out` and refuses `C_out + 1`.
fn accepts_exactly_the_native_step(c: &TrainStepCircuit) {
    let (public, _) = c.public_inputs().unwrap();
    assert_eq!(run(c, public.clone()), Ok(()), "{}", c.spec().arch());
    let mut wrong = public;
    wrong[2] += Fp::ONE;
    assert!(run(c, wrong).is_err(), "{}: C_out + 1", c.spec().arch());
}

#[test]
fn the_issues_layer_kinds_match_the_native_trainer() {
    for (model, loss) in [
        ("cnn:2x4x4-c2k3p1-relu-avg2-d2", Loss::CrossEntropy),
        ("cnn:2x4x4-c2k3p1-relu-max2-d2", Loss::Mse),
        (
            "cnn:2x4x4-c3k2s2-relu-c2k3p1-relu-max2-d3-relu-d2",
            Loss::CrossEntropy,
        ),
    ] {
        accepts_exactly_the_native_step(&circuit(spec(model, loss), 3, &[1, 6]));
    }
}

#[test]
fn weights_after_a_step_are_the_native_ones() {
    let s = spec("cnn:2x4x4-c2k3p1-relu-avg2-d2", Loss::Mse);
    let c = circuit(s.clone(), 5, &[2, 7]);
    let (_, after) = c.public_inputs().unwrap();
    let data = dataset();
    let rows = vec![data[2].values.clone(), data[7].values.clone()];
    let (native, _) = sgd_step(&s, &init_params(&s, 5), &rows).unwrap();
    assert_eq!(after, native);
    assert_ne!(after, init_params(&s, 5), "the step changed the weights");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// Random small CNNs, losses, learning rates, weights and batches: the
    /// circuit accepts exactly the native trainer's `C_out`.
    #[test]
    fn random_cnn_steps_match_the_native_trainer(
        channels in 1usize..=3,
        kernel in 1usize..=3,
        padding in 0usize..=1,
        stride in 1usize..=2,
        relu: bool,
        second_conv: bool,
        pool in 0u8..3,
        hidden in 0usize..=3,
        cross_entropy: bool,
        lr_log in 3u32..=6,
        seed: u64,
        picks in proptest::collection::vec(0usize..8, 2),
    ) {
        let mut layers = vec![LayerToken::Conv { channels, kernel, padding, stride }];
        if relu {
            layers.push(LayerToken::Relu);
        }
        if second_conv {
            layers.push(LayerToken::Conv { channels: 2, kernel: 2, padding: 1, stride: 1 });
            layers.push(LayerToken::Relu);
        }
        match pool {
            1 => layers.push(LayerToken::AvgPool { size: 2 }),
            2 => layers.push(LayerToken::MaxPool { size: 2 }),
            _ => {}
        }
        if hidden > 0 {
            layers.push(LayerToken::Dense { units: hidden });
            layers.push(LayerToken::Relu);
        }
        layers.push(LayerToken::Dense { units: 2 });
        let arch = Arch::from_layers(&ArchLayers { input: vec![2, 4, 4], layers });
        proptest::prop_assume!(arch.is_ok());
        let arch = arch.unwrap();
        let loss = if cross_entropy { Loss::CrossEntropy } else { Loss::Mse };
        let mut s = spec(&arch.to_string(), loss);
        s.lr_num = 1 << lr_log;
        proptest::prop_assume!(s.validate().is_ok());
        let c = circuit(s, seed, &picks);
        // A step that overflows its formats is an error, not a proof.
        let Ok((public, _)) = c.public_inputs() else {
            return Ok(());
        };
        proptest::prop_assert_eq!(run(&c, public.clone()), Ok(()), "{}", arch);
        let mut wrong = public;
        wrong[2] += Fp::ONE;
        proptest::prop_assert!(run(&c, wrong).is_err());
    }
}

fn record(c: TrainStepCircuit) -> Witness<TrainStepCircuit> {
    let (public, _) = c.public_inputs().unwrap();
    let k = c.measure().unwrap().k;
    Witness::record(k, c, vec![public])
}

#[test]
fn a_kernel_gradient_cell_fails_the_mac_gate() {
    let w = record(circuit(
        spec("cnn:2x4x4-c2k3p1-relu-avg2-d2", Loss::Mse),
        3,
        &[1, 6],
    ));
    // The first update regions are the kernel's: an accumulator of its
    // gradient over the batch and the positions, and a delta it reads.
    let acc = w.nth("update", "acc", 3);
    assert_gate_fails(w.shift(&acc, 1), "mac");
    // An input of the kernel gradient: a receptive-field entry as the
    // forward pass copied it (not a weight), read again by the update.
    let input = w
        .find("forward", "copy")
        .into_iter()
        .find(|c| w.reaches(c, "update") && !w.reaches(c, "weights in"))
        .unwrap();
    assert_gate_fails(w.shift(&input, 1), "mac");
}

#[test]
fn a_max_pool_choice_fails_the_table_lookup() {
    let w = record(circuit(
        spec("cnn:2x4x4-c2k3p1-relu-max2-d2", Loss::Mse),
        3,
        &[1, 6],
    ));
    // A window's one-hot first maximum, which routes its delta back.
    for n in [0, 1, 5] {
        let choice = w.nth("max pool", "output", n);
        let v = Fp::ONE - choice.value.unwrap();
        assert_named_lookup_fails(w.tamper(&choice, v), "table lookup");
    }
    // The window's maximum and a gap of the first-maximum check, each a
    // multiply-add.
    for n in [0, 1] {
        let acc = w.nth("max pool", "acc", n);
        assert_gate_fails(w.shift(&acc, 1), "mac");
    }
    // A routed delta, as the kernel gradient reads it, and the route (the
    // choice times the entry's ReLU sign) it was multiplied by.
    let routed = w.wired("pool delta", "acc", "update");
    assert_gate_fails(w.shift(&routed, 1), "mac");
    let route = w
        .find("pool delta", "acc")
        .into_iter()
        .find(|c| !w.reaches(c, "update"))
        .unwrap();
    let v = Fp::ONE - route.value.unwrap();
    assert_gate_fails(w.tamper(&route, v), "mac");
}

#[test]
fn pooled_and_convolved_deltas_fail_their_rescales() {
    // Average pooling: a window's delta, divided by its size, and that
    // delta times an entry's ReLU sign.
    let w = record(circuit(
        spec("cnn:2x4x4-c2k3p1-relu-avg2-d2", Loss::Mse),
        3,
        &[1, 6],
    ));
    let divided = w.wired("pool delta", "z", "pool delta");
    assert_gate_fails(w.shift(&divided, 1), "decompose step");
    let spread = w.wired("pool delta", "acc", "update");
    assert_gate_fails(w.shift(&spread, 1), "mac");
    // Two convolutions: the first one's output delta, gathered through the
    // second one's kernel.
    let w = record(circuit(
        spec("cnn:2x4x4-c2k2-relu-c2k2p1-relu-avg2-d2", Loss::Mse),
        3,
        &[1, 6],
    ));
    let gathered = w.wired("hidden delta", "selected", "update");
    assert_gate_fails(w.shift(&gathered, 1), "select");
}

/// Two steps in one proof: the first step's updated kernel stays in the
/// circuit and trains the second step.
#[test]
fn two_steps_in_one_proof_match_the_native_trainer() {
    let s = spec("cnn:2x4x4-c2k3p1-relu-max2-d2", Loss::CrossEntropy);
    let data = dataset();
    let witness = StepWitness {
        params: init_params(&s, 11),
        salt_in: Fp::from(1),
        salt_out: Fp::from(2),
        openings: [3, 4, 0, 7].iter().map(|i| data[*i].clone()).collect(),
        context: Fp::from(7),
    };
    let c = TrainStepCircuit::new(s.clone(), LAYOUT, 3, 2, Some(witness)).unwrap();
    accepts_exactly_the_native_step(&c);
    let (_, after) = c.public_inputs().unwrap();
    let rows = |ix: &[usize]| {
        ix.iter()
            .map(|i| data[*i].values.clone())
            .collect::<Vec<_>>()
    };
    let (once, _) = sgd_step(&s, &init_params(&s, 11), &rows(&[3, 4])).unwrap();
    let (twice, _) = sgd_step(&s, &once, &rows(&[0, 7])).unwrap();
    assert_eq!(after, twice);
}
