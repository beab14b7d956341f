//! FaceMesh: 468 face landmarks with depth, and a face-presence score, from a rotated crop.

use std::path::Path;

use image::RgbImage;

use super::onnx::{Network, Operators};
use super::roi::Roi;
use super::warp::{InputBuffer, sample_nhwc};
use super::{Landmarks, VisionError};

/// Side of the mesh's square input.
pub const INPUT: usize = 192;
/// Number of landmarks.
pub const POINTS: usize = 468;

/// The landmark network (int8 or float: the same graph interface).
#[derive(Debug, Clone)]
pub struct LandmarkModel {
    net: Network,
}

/// The mesh input tensor for `roi` in `img` (NHWC, values in [0, 1]).
pub fn crop_input(img: &RgbImage, roi: &Roi) -> Vec<f32> {
    sample_nhwc(img, &roi.crop_to_frame(INPUT), INPUT, INPUT, |c| c / 255.0)
}

/// [`crop_input`] into a buffer kept across frames.
pub fn crop_into<'a>(img: &RgbImage, roi: &Roi, buf: &'a mut InputBuffer) -> &'a [f32] {
    buf.fill(img, &roi.crop_to_frame(INPUT), (INPUT, INPUT), |c| c / 255.0)
}

/// Maps raw mesh outputs (crop pixels, presence logit) back into the frame.
pub fn decode(raw: &[f32], presence_logit: f32, roi: &Roi) -> Landmarks {
    let map = roi.crop_to_frame(INPUT);
    let z_scale = roi.size / INPUT as f32;
    let points = raw
        .chunks_exact(3)
        .map(|p| {
            let (x, y) = map.apply(p[0], p[1]);
            [x, y, p[2] * z_scale]
        })
        .collect();
    Landmarks { points, presence: 1.0 / (1.0 + (-presence_logit.clamp(-100.0, 100.0)).exp()) }
}

impl LandmarkModel {
    /// Where the network was loaded from.
    pub fn path(&self) -> &std::path::Path {
        self.net.path()
    }

    /// Loads a FaceMesh ONNX file in livegate's operators on this CPU's fastest kernels (the
    /// int8 mesh; the float one runs only in tract's own, [`Self::load_with`]).
    ///
    /// # Errors
    /// [`VisionError::Model`] if the file cannot be loaded.
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        Self::load_with(path, Operators::detect())
    }

    /// [`Self::load`] with the operators chosen: tract's own for the float reference and comparisons.
    ///
    /// # Errors
    /// [`VisionError::Model`] if the file cannot be loaded.
    pub fn load_with(path: &Path, operators: Operators) -> Result<Self, VisionError> {
        Ok(Self { net: Network::load_with(path, [1, INPUT, INPUT, 3], operators)? })
    }

    /// The operators tract runs this network with.
    pub fn operators(&self) -> Operators {
        self.net.operators()
    }

    /// The sha256 of the network's file, in hex.
    pub fn sha256(&self) -> &str {
        self.net.sha256()
    }

    /// Runs the network on a prepared crop; returns (468×3 crop-pixel values, presence logit).
    ///
    /// # Errors
    /// [`VisionError::Inference`] if tract fails or the outputs have unexpected sizes.
    pub fn infer(&self, input: &[f32]) -> Result<(Vec<f32>, f32), VisionError> {
        let mut outs = self.net.run(input)?;
        outs.sort_by_key(|o| o.len());
        match <[Vec<f32>; 2]>::try_from(outs) {
            Ok([presence, points]) if presence.len() == 1 && points.len() == POINTS * 3 => {
                Ok((points, presence[0]))
            }
            _ => Err(VisionError::Inference {
                path: self.net.path().to_owned(),
                source: anyhow::anyhow!("unexpected mesh outputs (want 1404 points and 1 logit)"),
            }),
        }
    }

    /// Landmarks of the face in `roi`.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the network fails.
    pub fn landmarks(&self, img: &RgbImage, roi: &Roi) -> Result<Landmarks, VisionError> {
        self.landmarks_with(img, roi, &mut InputBuffer::default())
    }

    /// [`Self::landmarks`] with the crop made in `buf`, kept across frames by the caller.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the network fails.
    pub fn landmarks_with(
        &self,
        img: &RgbImage,
        roi: &Roi,
        buf: &mut InputBuffer,
    ) -> Result<Landmarks, VisionError> {
        let (raw, logit) = self.infer(crop_into(img, roi, buf))?;
        Ok(decode(&raw, logit, roi))
    }
}
