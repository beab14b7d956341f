//! Loading an ONNX network with a fixed input shape into a tract plan: made of livegate's
//! fused operators ([`super::ops`]) or of tract's own, as the caller says. Nothing falls back
//! from one to the other: a graph that cannot be planned as asked is an error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::VisionError;
use super::ops::{self, Kernels};

/// The tract release livegate is built with (checked against `Cargo.lock` by a unit test).
pub const TRACT_VERSION: &str = "0.23.9";

/// The kernel path forced for this process (`--kernels`, `LIVEGATE_KERNELS`), if any.
static FORCED: OnceLock<Kernels> = OnceLock::new();

/// Forces the kernel path of every network loaded from now on in this process (`--kernels`).
///
/// # Errors
/// When another path was forced before (the one in force is returned).
pub fn force_kernels(kernels: Kernels) -> Result<(), Kernels> {
    FORCED.set(kernels)?;
    Ok(())
}

/// The kernel path networks load with: the forced one, else the fastest this CPU runs.
pub fn selected_kernels() -> Kernels {
    FORCED.get().copied().unwrap_or_else(Kernels::detect)
}

/// Which operators tract runs a network with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operators {
    /// livegate's fused operators on these kernels (what the service runs): every node of the
    /// graph must lower to one of them, or loading fails.
    Livegate(Kernels),
    /// tract's own ONNX operators, optimised by tract: the float reference, and the
    /// comparison in `livegate bench`.
    Tract,
}

impl Operators {
    /// livegate's operators on the [`selected_kernels`].
    pub fn detect() -> Self {
        Self::Livegate(selected_kernels())
    }

    /// `"livegate/<kernels>"` or `"tract"`.
    pub fn describe(self) -> String {
        match self {
            Self::Livegate(k) => format!("livegate/{k}"),
            Self::Tract => "tract".into(),
        }
    }
}

/// A network ready to run: loaded, shape-fixed and planned once at start-up.
#[derive(Debug, Clone)]
pub struct Network {
    plan: Arc<TypedRunnableModel>,
    operators: Operators,
    input_shape: [usize; 4],
    path: PathBuf,
    sha256: String,
}

impl Network {
    /// Loads `path`, fixes its single NHWC float input to `input_shape` and plans it in tract
    /// with `operators`.
    ///
    /// # Errors
    /// [`VisionError::Model`] when the file is missing or is not ONNX, or when the graph
    /// cannot be planned with `operators` (the message names the node).
    pub fn load_with(
        path: &Path,
        input_shape: [usize; 4],
        operators: Operators,
    ) -> Result<Self, VisionError> {
        let err = |source: anyhow::Error| VisionError::Model { path: path.to_owned(), source };
        let bytes = std::fs::read(path).map_err(|e| err(anyhow::anyhow!("cannot read it: {e}")))?;
        let model = match operators {
            Operators::Livegate(kernels) => ops::lower(path, input_shape, kernels)
                .map_err(|e| e.context(format!("livegate's {kernels} operators cannot run this graph"))),
            Operators::Tract => tract_onnx::onnx()
                .model_for_path(path)
                .and_then(|m| m.with_input_fact(0, f32::fact(input_shape).into()))
                .and_then(|m| m.into_optimized()),
        };
        let plan = model.and_then(|m| m.into_runnable()).map_err(err)?;
        let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self { plan, operators, input_shape, path: path.to_owned(), sha256 })
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

    /// The operators tract runs it with.
    pub fn operators(&self) -> Operators {
        self.operators
    }

    /// The sha256 of the file it was loaded from, in hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Where the network was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tract_version_named_in_fingerprints_is_the_one_built() {
        let lock = include_str!("../../Cargo.lock");
        let at = lock.find("name = \"tract-onnx\"\nversion = \"").expect("tract-onnx in Cargo.lock");
        let version = lock[at..].lines().nth(1).expect("version line");
        assert_eq!(version, format!("version = \"{TRACT_VERSION}\""));
    }
}
