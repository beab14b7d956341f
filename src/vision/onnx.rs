//! Loading an ONNX network with a fixed input shape: into livegate's own int8 executor
//! ([`super::qnet`]) when the graph is one it compiles, otherwise into an optimised tract plan.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::VisionError;
use super::qnet::{self, QNet};

/// A network ready to run: loaded, shape-fixed and optimised once at start-up.
#[derive(Debug, Clone)]
pub struct Network {
    engine: Engine,
    input_shape: [usize; 4],
    path: PathBuf,
}

/// What runs a network.
#[derive(Debug, Clone)]
enum Engine {
    Tract(Arc<TypedRunnableModel>),
    Qnet(Arc<QNet>),
}

/// Which engine [`Network::load_with`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// livegate's executor when it compiles the graph, else tract.
    Best,
    /// tract only (the reference, and the comparison in `livegate bench`).
    Tract,
}

impl Network {
    /// Loads `path`, fixes its single NHWC float input to `input_shape` and compiles it: in
    /// livegate's executor if `choice` allows and it compiles the graph, else in tract.
    ///
    /// # Errors
    /// [`VisionError::Model`] when the file is missing, is not ONNX, or uses an operator
    /// tract cannot run.
    pub fn load_with(
        path: &Path,
        input_shape: [usize; 4],
        choice: EngineChoice,
    ) -> Result<Self, VisionError> {
        let err = |source: anyhow::Error| VisionError::Model { path: path.to_owned(), source };
        if !path.is_file() {
            return Err(err(anyhow::anyhow!("file not found")));
        }
        if choice == EngineChoice::Best {
            // A graph qnet refuses (the float mesh's PRelu, a different export) runs in tract.
            if let Ok(net) = qnet::compile(path, input_shape) {
                let engine = Engine::Qnet(Arc::new(net));
                return Ok(Self { engine, input_shape, path: path.to_owned() });
            }
        }
        let plan = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        Ok(Self { engine: Engine::Tract(plan), input_shape, path: path.to_owned() })
    }

    /// Runs the network on one NHWC input and returns every output as a flat `f32` vector.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the input has the wrong length or tract fails.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, VisionError> {
        let err = |source: anyhow::Error| VisionError::Inference { path: self.path.clone(), source };
        let plan = match &self.engine {
            Engine::Qnet(net) if input.len() == net.input_len() => return Ok(net.run(input)),
            Engine::Qnet(_) => return Err(err(anyhow::anyhow!("input has {} values", input.len()))),
            Engine::Tract(plan) => plan,
        };
        let tensor = Tensor::from_shape(&self.input_shape, input).map_err(err)?;
        let outputs = plan.run(tvec!(tensor.into_tvalue())).map_err(err)?;
        outputs
            .iter()
            .map(|t| Ok(t.to_plain_array_view::<f32>().map_err(err)?.iter().copied().collect()))
            .collect()
    }

    /// Which engine runs it: `"livegate"` or `"tract"`.
    pub fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Qnet(_) => "livegate",
            Engine::Tract(_) => "tract",
        }
    }

    /// Where the network was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
