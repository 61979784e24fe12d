//! Prove inferences of the bundled ONNX MLP (four inputs in one proof) and
//! verify the proof from its bytes alone: `cargo run --release --example inference`.

use std::path::PathBuf;

use zkpot::infer::request::{parse_visibility, prove_inference, InferRequest, ModelSource};
use zkpot::params::ParamsCache;
use zkpot::verify::{verify_path, Verified};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/models");
    let work = std::env::temp_dir().join(format!("zkpot-infer-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let model = work.join("mlp.onnx");
    std::fs::copy(models.join("mlp_4_16_3.onnx"), &model)?;
    let read = |name: &str| -> Result<Vec<Vec<f64>>, Box<dyn std::error::Error>> {
        Ok(zkpot::model::read_inputs(&std::fs::read_to_string(
            models.join(name),
        )?)?)
    };
    // The sample input and three calibration rows, proven in one proof that
    // commits the weights once.
    let calibration = read("mlp_4_16_3.calibration.json")?;
    let mut inputs = read("mlp_4_16_3.input.json")?;
    inputs.extend(calibration.iter().take(3).cloned());
    let cache = ParamsCache::locate(None)?;
    let out = work.join("inference.zkpot");
    let o = prove_inference(
        &cache,
        &InferRequest {
            model: ModelSource::File(model),
            inputs,
            calibration: Some(calibration),
            input_visibility: parse_visibility("private")?,
            output_visibility: parse_visibility("public")?,
            secret: None,
            out: out.clone(),
            progress: true,
        },
    )?;
    let classes: Vec<usize> = o.results.iter().map(|r| r.class).collect();
    println!(
        "classes {classes:?} proved at k = {} in {:.2} s, {:.2} s per input ({} bytes)",
        o.k, o.prove_s, o.prove_per_input_s, o.proof_bytes
    );
    if let Verified::Inference { statement, .. } = verify_path(&cache, &out, None, None, false)? {
        println!(
            "VALID inference proof, weights {}",
            statement.weights_commitment
        );
    }
    Ok(())
}
