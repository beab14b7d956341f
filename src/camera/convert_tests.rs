use super::*;

const WHITE: [u8; 3] = [235, 128, 128];
const BLACK: [u8; 3] = [16, 128, 128];
const RED: [u8; 3] = [81, 90, 240];
const BLUE: [u8; 3] = [41, 240, 110];

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 1)
}

#[test]
fn bt601_reference_colours_convert_to_their_rgb() {
    assert_eq!(yuv_to_rgb(WHITE[0], WHITE[1], WHITE[2]), [255, 255, 255]);
    assert_eq!(yuv_to_rgb(BLACK[0], BLACK[1], BLACK[2]), [0, 0, 0]);
    assert!(close(yuv_to_rgb(RED[0], RED[1], RED[2]), [255, 0, 0]));
    assert!(close(yuv_to_rgb(145, 54, 34), [0, 255, 0]));
    assert!(close(yuv_to_rgb(BLUE[0], BLUE[1], BLUE[2]), [0, 0, 255]));
    // Out-of-range luma clips instead of wrapping.
    assert_eq!(yuv_to_rgb(255, 128, 128), [255, 255, 255]);
    assert_eq!(yuv_to_rgb(0, 128, 128), [0, 0, 0]);
}

#[test]
fn yuyv_with_padded_rows_gives_each_pixel_its_own_luma_and_shared_chroma() {
    // 4×2, stride 10 (2 bytes of padding per row). Row 0: white, black | red-ish pair;
    // row 1: blue pair | black, white.
    let data = [
        235, 128, 16, 128, 81, 90, 81, 240, 0xEE, 0xEE, //
        41, 240, 41, 110, 16, 128, 235, 128, 0xEE, 0xEE,
    ];
    let img = yuyv_to_rgb(&data, 4, 2, 10).unwrap();
    assert_eq!(img.dimensions(), (4, 2));
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(1, 0).0, [0, 0, 0]);
    assert!(close(img.get_pixel(2, 0).0, [255, 0, 0]));
    assert!(close(img.get_pixel(3, 0).0, [255, 0, 0]));
    assert!(close(img.get_pixel(0, 1).0, [0, 0, 255]));
    assert!(close(img.get_pixel(1, 1).0, [0, 0, 255]));
    assert_eq!(img.get_pixel(2, 1).0, [0, 0, 0]);
    assert_eq!(img.get_pixel(3, 1).0, [255, 255, 255]);
}

#[test]
fn nv12_shares_one_chroma_pair_per_two_by_two_block() {
    // 4×4, stride 4: luma all 81 except a white top-left pixel, chroma: left blocks red,
    // right blocks neutral (grey luma 81 → dark grey).
    let mut data = vec![81u8; 16];
    data[0] = 235;
    data.extend_from_slice(&[90, 240, 128, 128, 90, 240, 128, 128]);
    let img = nv12_to_rgb(&data, 4, 4, 4).unwrap();
    assert!(close(img.get_pixel(1, 1).0, [255, 0, 0]));
    assert!(close(img.get_pixel(0, 3).0, [255, 0, 0]));
    let grey = img.get_pixel(3, 3).0;
    assert_eq!(grey[0], grey[1]);
    assert_eq!(grey[1], grey[2]);
    assert_eq!(grey, yuv_to_rgb(81, 128, 128));
    // The white luma with red chroma saturates red and keeps some green/blue.
    assert_eq!(img.get_pixel(0, 0).0, yuv_to_rgb(235, 90, 240));
}

#[test]
fn short_buffers_are_errors_not_panics() {
    let err = yuyv_to_rgb(&[0; 15], 4, 2, 8).unwrap_err();
    assert!(matches!(err, ConvertError::Short { need: 16, got: 15, .. }), "{err}");
    assert!(matches!(nv12_to_rgb(&[0; 23], 4, 4, 4), Err(ConvertError::Short { need: 24, .. })));
    assert!(matches!(rgb3_to_rgb(&[0; 5], 2, 1, 6), Err(ConvertError::Short { .. })));
    assert!(matches!(nv12_to_rgb(&[0; 64], 3, 4, 4), Err(ConvertError::OddSize { .. })));
}

#[test]
fn rgb3_rows_are_copied_without_their_padding() {
    let data = [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0];
    let img = rgb3_to_rgb(&data, 2, 2, 8).unwrap();
    assert_eq!(img.into_raw(), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
}

pub(crate) fn jpeg_of(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

#[test]
fn a_whole_mjpeg_frame_decodes_at_the_negotiated_size() {
    let jpeg = jpeg_of(64, 48);
    let layout = Layout { format: PixelFormat::Mjpeg, width: 64, height: 48, stride: 0 };
    let img = to_rgb(&layout, &jpeg).unwrap();
    assert_eq!(img.dimensions(), (64, 48));
    let p = img.get_pixel(40, 20).0;
    assert!(p[0].abs_diff(160) < 12 && p[1].abs_diff(80) < 12 && p[2].abs_diff(128) < 12, "{p:?}");
    // UVC drivers hand over the whole buffer; zero padding after the EOI is fine.
    let mut padded = jpeg.clone();
    padded.extend_from_slice(&[0; 100]);
    assert!(mjpeg_to_rgb(&padded, 64, 48).is_ok());
}

#[test]
fn a_truncated_mjpeg_frame_is_reported_corrupt() {
    let jpeg = jpeg_of(64, 48);
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 10, 0] {
        let err = mjpeg_to_rgb(&jpeg[..cut], 64, 48).unwrap_err();
        assert!(matches!(err, ConvertError::CorruptJpeg(_)), "cut at {cut}: {err}");
    }
}

#[test]
fn a_mjpeg_frame_with_a_garbled_header_is_reported_corrupt() {
    let mut jpeg = jpeg_of(64, 48);
    for b in &mut jpeg[2..40] {
        *b = 0x5A;
    }
    assert!(matches!(mjpeg_to_rgb(&jpeg, 64, 48), Err(ConvertError::CorruptJpeg(_))));
}

#[test]
fn a_mjpeg_frame_of_the_wrong_size_is_rejected() {
    let jpeg = jpeg_of(32, 16);
    assert!(matches!(mjpeg_to_rgb(&jpeg, 64, 48), Err(ConvertError::JpegSize { got_w: 32, got_h: 16, .. })));
}

#[test]
fn fourcc_codes_round_trip() {
    for f in PixelFormat::ALL {
        assert_eq!(PixelFormat::from_fourcc(f.fourcc()), Some(f));
        assert_eq!(f.name().as_bytes(), f.fourcc());
    }
    assert_eq!(PixelFormat::from_fourcc(*b"H264"), None);
}

/// Removes every DHT (Huffman table) segment, as many UVC cameras send MJPEG.
fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = usize::from(jpeg[i + 2]) << 8 | usize::from(jpeg[i + 3]);
        if marker == 0xDA {
            out.extend_from_slice(&jpeg[i..]);
            return out;
        }
        if marker != 0xC4 {
            out.extend_from_slice(&jpeg[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    panic!("no start of scan");
}

/// 8×8 blocks that are each one DCT basis pattern of random frequency and amplitude (per
/// channel when `colour`), so the encoded scan uses most run/size Huffman symbols.
fn basis_patterns(colour: bool) -> RgbImage {
    let mut seed = 0x2545_f491_u32;
    let mut rand = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    let mut img = RgbImage::new(256, 256);
    for by in 0..32 {
        for bx in 0..32 {
            let mut pattern = || {
                let (u, v) = loop {
                    let (u, v) = (rand(8), rand(8));
                    if (u, v) != (0, 0) {
                        break (u as f32, v as f32);
                    }
                };
                let amplitude =
                    (2f32.powf(rand(70) as f32 / 10.0)).min(127.0) * if rand(2) == 0 { 1.0 } else { -1.0 };
                move |x: u32, y: u32| {
                    let c = |k: u32, f: f32| ((2 * k + 1) as f32 * f * std::f32::consts::PI / 16.0).cos();
                    (128.0 + amplitude * c(x, u) * c(y, v)).round().clamp(0.0, 255.0) as u8
                }
            };
            let grey = pattern();
            let (r, b) = (pattern(), pattern());
            for y in 0..8 {
                for x in 0..8 {
                    let g = grey(x, y);
                    let px = if colour { [r(x, y), g, b(x, y)] } else { [g, g, g] };
                    img.put_pixel(bx * 8 + x, by * 8 + y, image::Rgb(px));
                }
            }
        }
    }
    img
}

#[test]
fn uvc_mjpeg_without_huffman_tables_decodes_with_the_standard_ones() {
    // Encoded with the standard tables (as the encoder does), then stripped of its DHT: it
    // must decode exactly like the original.
    for (name, img) in [("grey", basis_patterns(false)), ("colour", basis_patterns(true))] {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 100).encode_image(&img).unwrap();
        let stripped = without_huffman_tables(&jpeg);
        assert!(stripped.len() < jpeg.len() - 100, "the test JPEG had DHT segments");
        let full = mjpeg_to_rgb(&jpeg, 256, 256).unwrap();
        let decoded = mjpeg_to_rgb(&stripped, 256, 256).unwrap();
        assert!(decoded.as_raw() == full.as_raw(), "{name} pattern decodes differently");
    }
}
