//! Loading an ONNX network into an optimised tract plan with a fixed input shape.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::VisionError;

/// A network ready to run: loaded, shape-fixed and optimised once at start-up.
#[derive(Debug, Clone)]
pub struct Network {
    plan: Arc<TypedRunnableModel>,
    input_shape: [usize; 4],
    path: PathBuf,
}

impl Network {
    /// Loads `path`, fixes its single NHWC float input to `input_shape` and optimises it.
    ///
    /// # Errors
    /// [`VisionError::Model`] when the file is missing, is not ONNX, or uses an operator
    /// tract cannot run.
    pub fn load(path: &Path, input_shape: [usize; 4]) -> Result<Self, VisionError> {
        let err = |source: anyhow::Error| VisionError::Model { path: path.to_owned(), source };
        if !path.is_file() {
            return Err(err(anyhow::anyhow!("file not found")));
        }
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        Ok(Self { plan, input_shape, path: path.to_owned() })
    }

    /// Runs the network on one NHWC input and returns every output as a flat `f32` vector.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the input has the wrong length or tract fails.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, VisionError> {
        let err = |source: anyhow::Error| VisionError::Inference { path: self.path.clone(), source };
        let tensor = Tensor::from_shape(&self.input_shape, input).map_err(err)?;
        let outputs = self.plan.run(tvec!(tensor.into_tvalue())).map_err(err)?;
        outputs
            .iter()
            .map(|t| Ok(t.to_plain_array_view::<f32>().map_err(err)?.iter().copied().collect()))
            .collect()
    }

    /// Where the network was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
