//! Models: the float IR with its JSON form, ONNX import, and calibrated
//! quantization into the fixed-point models the inference circuit proves.

mod error;
pub mod export;
pub mod ir;
pub mod onnx;
pub mod quantize;

pub use error::ModelError;
pub use ir::{Layer, Model, Preprocess};
pub use onnx::load_onnx;
pub use quantize::{
    from_trained, quantize, quantize_batch_input, quantize_input, QuantOptions, QuantReport,
    Quantized,
};

/// Loads a model from an ONNX file or its JSON form (by content: JSON starts
/// with `{`).
pub fn load_model(path: &std::path::Path) -> Result<Model, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let text = String::from_utf8(bytes).map_err(|e| ModelError::Json(e.to_string()))?;
        Model::from_json(&text)
    } else {
        load_onnx(&bytes)
    }
}

/// Reads inputs from JSON: a bare nested array of numbers is one input;
/// `{"input_data": [[...], ...]}` is a list of inputs. Every input is
/// flattened.
pub fn read_inputs(text: &str) -> Result<Vec<Vec<f64>>, ModelError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ModelError::Json(e.to_string()))?;
    let (v, listed) = match &v {
        serde_json::Value::Object(map) => {
            if let Some(other) = map.keys().find(|k| *k != "input_data") {
                return Err(ModelError::Json(format!(
                    "unknown key {other:?}: an input file is an array, or {{\"input_data\": [...]}}"
                )));
            }
            match map.get("input_data") {
                Some(serde_json::Value::Array(a)) if a.is_empty() => {
                    return Err(ModelError::Json("input_data lists no inputs".into()))
                }
                Some(d) => (d.clone(), true),
                None => {
                    return Err(ModelError::Json(
                        "an input object needs \"input_data\": [...]".into(),
                    ))
                }
            }
        }
        _ => (v, false),
    };
    fn flatten(v: &serde_json::Value, out: &mut Vec<f64>) -> Result<(), ModelError> {
        match v {
            serde_json::Value::Number(n) => {
                let x = n
                    .as_f64()
                    .ok_or_else(|| ModelError::Json("a number out of range".into()))?;
                if !x.is_finite() {
                    return Err(ModelError::NotFinite {
                        what: "the input".into(),
                    });
                }
                out.push(x);
                Ok(())
            }
            serde_json::Value::Array(a) => a.iter().try_for_each(|x| flatten(x, out)),
            _ => Err(ModelError::Json(
                "inputs must be numbers or arrays of numbers".into(),
            )),
        }
    }
    let arr = v
        .as_array()
        .ok_or_else(|| ModelError::Json("expected an array of inputs".into()))?;
    // `input_data` lists inputs (a flat list of numbers is one input).
    if listed && arr.iter().all(|x| x.is_array()) && !arr.is_empty() {
        arr.iter()
            .map(|x| {
                let mut out = Vec::new();
                flatten(x, &mut out)?;
                Ok(out)
            })
            .collect()
    } else {
        let mut out = Vec::new();
        flatten(&v, &mut out)?;
        Ok(vec![out])
    }
}
