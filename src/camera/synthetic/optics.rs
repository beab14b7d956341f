//! What the camera does to the light before the service sees a frame.
//!
//! The codec round trip: frames leave a USB camera as JPEG (MJPEG streams with halved chroma
//! and coarse quantisation), and the service sees what the decoder gives back, blocking and
//! colour bleeding included.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};

use super::Codec;

/// How much coarser a USB camera's MJPEG quantisation is than the nominal quality: their
/// fixed tables sit about 15 quality steps below what a still-image encoder would use.
const MJPEG_QUALITY_LOSS: u8 = 15;

/// Encodes `img` as the camera's codec would and decodes it as the service does.
///
/// # Errors
/// When the encoder or the decoder fails.
pub fn codec_round_trip(img: &RgbImage, codec: Codec) -> image::ImageResult<RgbImage> {
    let mut jpeg = Vec::with_capacity(64 * 1024);
    match codec {
        Codec::Jpeg { quality } => JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(img)?,
        Codec::Mjpeg { quality } => {
            let quality = quality.saturating_sub(MJPEG_QUALITY_LOSS).max(25);
            JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&halve_chroma(img))?;
        }
    }
    Ok(image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)?.into_rgb8())
}

/// 4:2:2 chroma: each horizontal pixel pair keeps its own luma and shares the pair's mean
/// chroma (BT.601), as a YUYV sensor readout or an MJPEG stream does. The `image` encoder
/// itself codes full-resolution chroma.
fn halve_chroma(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let w = img.width() as usize;
    for row in out.chunks_exact_mut(w * 3) {
        for pair in row.chunks_exact_mut(6) {
            let ycc = |p: &[u8]| {
                let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                (y, b - y, r - y)
            };
            let (y0, cb0, cr0) = ycc(&pair[..3]);
            let (y1, cb1, cr1) = ycc(&pair[3..]);
            let (cb, cr) = ((cb0 + cb1) / 2.0, (cr0 + cr1) / 2.0);
            for (px, y) in pair.chunks_exact_mut(3).zip([y0, y1]) {
                let r = y + cr;
                let b = y + cb;
                let g = (y - 0.299 * r - 0.114 * b) / 0.587;
                let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
                px.copy_from_slice(&Rgb([q(r), q(g), q(b)]).0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            if (x / 3 + y / 5) % 2 == 0 { Rgb([200, 40, 60]) } else { Rgb([30, 160, 220]) }
        })
    }

    #[test]
    fn the_codec_round_trip_changes_pixels_but_keeps_the_size() {
        let img = checker();
        for codec in [Codec::Jpeg { quality: 85 }, Codec::Mjpeg { quality: 85 }] {
            let out = codec_round_trip(&img, codec).unwrap();
            assert_eq!(out.dimensions(), img.dimensions());
            let changed = img.pixels().zip(out.pixels()).filter(|(a, b)| a != b).count();
            assert!(changed > img.len() / 3 / 10, "{codec:?}: only {changed} pixels changed");
        }
    }

    #[test]
    fn mjpeg_loses_more_than_jpeg_at_the_same_quality() {
        let img = checker();
        let err = |codec| {
            let out = codec_round_trip(&img, codec).unwrap();
            img.iter().zip(out.iter()).map(|(&a, &b)| (f32::from(a) - f32::from(b)).abs()).sum::<f32>()
        };
        let (jpeg, mjpeg) = (err(Codec::Jpeg { quality: 80 }), err(Codec::Mjpeg { quality: 80 }));
        assert!(mjpeg > jpeg * 1.2, "mjpeg {mjpeg} vs jpeg {jpeg}");
    }

    #[test]
    fn halved_chroma_keeps_each_pixels_luma() {
        let img = checker();
        let out = halve_chroma(&img);
        let luma = |p: &Rgb<u8>| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
        for (a, b) in img.pixels().zip(out.pixels()) {
            assert!((luma(a) - luma(b)).abs() < 2.0, "{a:?} -> {b:?}");
        }
    }
}
