//! Raw camera buffers to the RGB frames vision wants.
//!
//! Written once, here, so every source (V4L2 today, a recorder tomorrow) converts the same
//! way. YUV uses BT.601 limited range ("studio swing", Y 16–235), which is what UVC webcams,
//! libcamera's V4L2 layer and vivid's default colorspace deliver; integer arithmetic keeps it
//! fast on a Pi without SIMD intrinsics. MJPEG goes through zune-jpeg (the `image` crate's JPEG
//! decoder), with the standard Huffman tables supplied when a UVC camera leaves them out; a
//! corrupt or truncated frame is an error for the caller to drop and count.

use image::RgbImage;

/// The pixel formats we can turn into RGB, with their V4L2 fourcc (also their config name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PixelFormat {
    /// Motion JPEG: every buffer is one JPEG image (UVC cameras at high resolutions).
    #[serde(rename = "MJPG")]
    Mjpeg,
    /// Packed 4:2:2, `Y0 U Y1 V` per two pixels.
    #[serde(rename = "YUYV")]
    Yuyv,
    /// Planar 4:2:0: a Y plane, then one interleaved `U V` plane at half height.
    #[serde(rename = "NV12")]
    Nv12,
    /// Packed 8-bit `R G B`.
    #[serde(rename = "RGB3")]
    Rgb3,
}

impl PixelFormat {
    /// Every supported format.
    pub const ALL: [PixelFormat; 4] = [Self::Mjpeg, Self::Yuyv, Self::Nv12, Self::Rgb3];

    /// The V4L2 fourcc code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Self::Mjpeg => *b"MJPG",
            Self::Yuyv => *b"YUYV",
            Self::Nv12 => *b"NV12",
            Self::Rgb3 => *b"RGB3",
        }
    }

    /// The format with this fourcc, if we can convert it.
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.fourcc() == code)
    }

    /// The fourcc as text, e.g. `"YUYV"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mjpeg => "MJPG",
            Self::Yuyv => "YUYV",
            Self::Nv12 => "NV12",
            Self::Rgb3 => "RGB3",
        }
    }

    /// Bytes per row at the minimum stride (MJPEG has none: 0).
    pub fn min_stride(self, width: u32) -> usize {
        match self {
            Self::Mjpeg => 0,
            Self::Yuyv => width as usize * 2,
            Self::Nv12 => width as usize,
            Self::Rgb3 => width as usize * 3,
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a raw buffer is laid out (the format the driver confirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the (first) plane; 0 means the minimum for the format.
    pub stride: usize,
}

/// Why a buffer could not be converted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("{format} buffer of {got} bytes is too short for {width}×{height} (needs {need})")]
    Short { format: PixelFormat, width: u32, height: u32, got: usize, need: usize },
    #[error("the driver flagged the buffer as damaged")]
    Damaged,
    #[error("corrupt JPEG: {0}")]
    CorruptJpeg(String),
    #[error("JPEG is {got_w}×{got_h}, the stream was negotiated at {width}×{height}")]
    JpegSize { got_w: u32, got_h: u32, width: u32, height: u32 },
    #[error("{format} needs an even width and height, got {width}×{height}")]
    OddSize { format: PixelFormat, width: u32, height: u32 },
}

/// Converts one buffer to RGB.
///
/// # Errors
/// [`ConvertError`] for a short buffer, an odd size where chroma is subsampled, or an MJPEG
/// frame that does not decode to the negotiated size.
pub fn to_rgb(layout: &Layout, data: &[u8]) -> Result<RgbImage, ConvertError> {
    let stride = if layout.stride == 0 { layout.format.min_stride(layout.width) } else { layout.stride };
    match layout.format {
        PixelFormat::Mjpeg => mjpeg_to_rgb(data, layout.width, layout.height),
        PixelFormat::Yuyv => yuyv_to_rgb(data, layout.width, layout.height, stride),
        PixelFormat::Nv12 => nv12_to_rgb(data, layout.width, layout.height, stride),
        PixelFormat::Rgb3 => rgb3_to_rgb(data, layout.width, layout.height, stride),
    }
}

/// One BT.601 limited-range YCbCr sample to RGB (the classic integer form, 8-bit fixed point).
#[inline]
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clip = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [clip(c + 409 * e), clip(c - 100 * d - 208 * e), clip(c + 516 * d)]
}

fn check_len(
    format: PixelFormat,
    width: u32,
    height: u32,
    got: usize,
    need: usize,
) -> Result<(), ConvertError> {
    if got < need { Err(ConvertError::Short { format, width, height, got, need }) } else { Ok(()) }
}

/// YUYV (4:2:2 packed) to RGB; `stride` in bytes per row.
///
/// # Errors
/// [`ConvertError::Short`] / [`ConvertError::OddSize`].
pub fn yuyv_to_rgb(data: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, ConvertError> {
    let format = PixelFormat::Yuyv;
    if !width.is_multiple_of(2) {
        return Err(ConvertError::OddSize { format, width, height });
    }
    let row = width as usize * 2;
    let need = if height == 0 { 0 } else { stride * (height as usize - 1) + row };
    check_len(format, width, height, data.len(), need)?;
    let mut out = vec![0u8; width as usize * height as usize * 3];
    for (y, dst_row) in out.chunks_exact_mut(width as usize * 3).enumerate() {
        let src = &data[y * stride..y * stride + row];
        for (quad, dst) in src.chunks_exact(4).zip(dst_row.chunks_exact_mut(6)) {
            dst[..3].copy_from_slice(&yuv_to_rgb(quad[0], quad[1], quad[3]));
            dst[3..].copy_from_slice(&yuv_to_rgb(quad[2], quad[1], quad[3]));
        }
    }
    Ok(RgbImage::from_raw(width, height, out).expect("buffer sized for the image"))
}

/// NV12 (4:2:0, Y plane then interleaved UV plane, both with `stride`) to RGB.
///
/// # Errors
/// [`ConvertError::Short`] / [`ConvertError::OddSize`].
pub fn nv12_to_rgb(data: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, ConvertError> {
    let format = PixelFormat::Nv12;
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(ConvertError::OddSize { format, width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let uv_start = stride * h;
    let need = if h == 0 { 0 } else { uv_start + stride * (h / 2 - 1) + w };
    check_len(format, width, height, data.len(), need)?;
    let mut out = vec![0u8; w * h * 3];
    for (y, dst_row) in out.chunks_exact_mut(w * 3).enumerate() {
        let luma = &data[y * stride..y * stride + w];
        let chroma = &data[uv_start + (y / 2) * stride..uv_start + (y / 2) * stride + w];
        for (x, dst) in dst_row.chunks_exact_mut(3).enumerate() {
            let uv = x & !1;
            dst.copy_from_slice(&yuv_to_rgb(luma[x], chroma[uv], chroma[uv + 1]));
        }
    }
    Ok(RgbImage::from_raw(width, height, out).expect("buffer sized for the image"))
}

/// Packed RGB24 rows (possibly padded to `stride`) to an image.
///
/// # Errors
/// [`ConvertError::Short`].
pub fn rgb3_to_rgb(data: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, ConvertError> {
    let row = width as usize * 3;
    let need = if height == 0 { 0 } else { stride * (height as usize - 1) + row };
    check_len(PixelFormat::Rgb3, width, height, data.len(), need)?;
    let mut out = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    Ok(RgbImage::from_raw(width, height, out).expect("buffer sized for the image"))
}

/// One MJPEG buffer to RGB; it must decode completely and at the negotiated size.
///
/// # Errors
/// [`ConvertError::CorruptJpeg`] / [`ConvertError::JpegSize`].
pub fn mjpeg_to_rgb(data: &[u8], width: u32, height: u32) -> Result<RgbImage, ConvertError> {
    // Truncated frames are common on a flaky USB link; zune-jpeg may fill the missing part
    // with grey rather than fail, so insist on the end-of-image marker first.
    let trimmed = data.iter().rposition(|&b| b != 0).map_or(&data[..0], |end| &data[..=end]);
    if !trimmed.ends_with(&[0xFF, 0xD9]) {
        return Err(ConvertError::CorruptJpeg(format!("no end-of-image marker in {} bytes", data.len())));
    }
    let patched = super::mjpeg::with_standard_huffman_tables(trimmed);
    let img =
        image::load_from_memory_with_format(patched.as_deref().unwrap_or(trimmed), image::ImageFormat::Jpeg)
            .map_err(|e| ConvertError::CorruptJpeg(e.to_string()))?
            .into_rgb8();
    if img.dimensions() != (width, height) {
        return Err(ConvertError::JpegSize { got_w: img.width(), got_h: img.height(), width, height });
    }
    Ok(img)
}

#[cfg(test)]
#[path = "convert_tests.rs"]
pub(crate) mod tests;
