use super::*;

fn discrete(fourcc: &[u8; 4], sizes: &[(u32, u32)]) -> Offered {
    Offered {
        fourcc: *fourcc,
        sizes: sizes.iter().map(|&(width, height)| OfferedSize::Discrete { width, height }).collect(),
    }
}

fn uvc_webcam() -> Vec<Offered> {
    let sizes = [(1920, 1080), (1280, 720), (640, 480), (320, 240)];
    vec![discrete(b"YUYV", &sizes), discrete(b"MJPG", &sizes)]
}

#[test]
fn vga_on_a_uvc_webcam_picks_yuyv() {
    let c = choose(&uvc_webcam(), 640, 480, None).unwrap();
    assert_eq!(c, Choice { format: PixelFormat::Yuyv, width: 640, height: 480 });
}

#[test]
fn hd_on_a_uvc_webcam_picks_mjpeg() {
    let c = choose(&uvc_webcam(), 1280, 720, None).unwrap();
    assert_eq!(c, Choice { format: PixelFormat::Mjpeg, width: 1280, height: 720 });
}

#[test]
fn hd_without_mjpeg_falls_back_to_yuyv() {
    let offered = vec![discrete(b"YUYV", &[(1280, 720), (640, 480)]), discrete(b"H264", &[(1920, 1080)])];
    let c = choose(&offered, 1280, 720, None).unwrap();
    assert_eq!(c, Choice { format: PixelFormat::Yuyv, width: 1280, height: 720 });
}

#[test]
fn a_device_with_only_nv12_and_rgb3_gets_nv12() {
    let offered = vec![discrete(b"RGB3", &[(640, 480)]), discrete(b"NV12", &[(640, 480)])];
    assert_eq!(choose(&offered, 640, 480, None).unwrap().format, PixelFormat::Nv12);
    let only_rgb = vec![discrete(b"RGB3", &[(640, 480)])];
    assert_eq!(choose(&only_rgb, 640, 480, None).unwrap().format, PixelFormat::Rgb3);
}

#[test]
fn an_unoffered_size_gets_the_closest_offered_one() {
    let c = choose(&uvc_webcam(), 800, 600, None).unwrap();
    assert_eq!((c.width, c.height), (640, 480));
    let c = choose(&uvc_webcam(), 100, 100, None).unwrap();
    assert_eq!((c.width, c.height), (320, 240));
}

#[test]
fn a_stepwise_range_is_clamped_and_snapped_to_its_grid() {
    let offered = vec![Offered {
        fourcc: *b"NV12",
        sizes: vec![OfferedSize::Stepwise {
            min_width: 32,
            max_width: 2592,
            step_width: 16,
            min_height: 32,
            max_height: 1944,
            step_height: 16,
        }],
    }];
    let c = choose(&offered, 641, 479, None).unwrap();
    assert_eq!((c.width, c.height), (640, 480));
    let c = choose(&offered, 9999, 9999, None).unwrap();
    assert_eq!((c.width, c.height), (2592, 1936));
    let c = choose(&offered, 1, 1, None).unwrap();
    assert_eq!((c.width, c.height), (32, 32));
}

#[test]
fn a_forced_format_is_used_even_where_another_is_preferred() {
    let c = choose(&uvc_webcam(), 640, 480, Some(PixelFormat::Mjpeg)).unwrap();
    assert_eq!(c.format, PixelFormat::Mjpeg);
}

#[test]
fn a_forced_format_the_device_lacks_names_what_it_offers() {
    let err = choose(&uvc_webcam(), 640, 480, Some(PixelFormat::Nv12)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("the device does not offer NV12 (offered: {})", describe(&uvc_webcam()))
    );
}

#[test]
fn only_unusable_formats_is_an_error_that_lists_them() {
    let offered = vec![discrete(b"H264", &[(1920, 1080)]), discrete(b"GREY", &[(640, 480)])];
    let err = choose(&offered, 640, 480, None).unwrap_err();
    assert!(matches!(err, NegotiateError::NoUsableFormat { .. }));
    assert!(err.to_string().contains("offered: also H264 GREY"), "{err}");
    assert!(matches!(choose(&[], 640, 480, None), Err(NegotiateError::NoUsableFormat { .. })));
}

#[test]
fn a_format_offered_without_sizes_is_skipped() {
    let offered = vec![discrete(b"YUYV", &[]), discrete(b"MJPG", &[(640, 480)])];
    assert_eq!(choose(&offered, 640, 480, None).unwrap().format, PixelFormat::Mjpeg);
}

#[test]
fn the_log_lists_our_formats_with_sizes_and_only_counts_a_long_tail_of_others() {
    let mut offered = uvc_webcam();
    offered.extend((0..8u8).map(|i| discrete(&[b'X', b'0' + i, b' ', 0xA0], &[(640, 480)])));
    let text = describe(&offered);
    assert!(text.starts_with("YUYV 1920x1080 1280x720 640x480 320x240, MJPG 1920x1080"), "{text}");
    assert!(text.ends_with("also X0 ? X1 ? X2 ? X3 ? X4 ? X5 ? and 2 more"), "{text}");
}
