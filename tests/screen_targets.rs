//! The device targets up to the hardware boundary: the framebuffer writer against
//! file-backed framebuffers of each pixel format, and the SPI panel's byte stream against the
//! controller's documented command sequence (ST7789 / ILI9341 datasheets, MIPI DCS).

use std::cell::RefCell;
use std::convert::Infallible;
use std::fs::File;
use std::io::Write;
use std::rc::Rc;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_hal::spi::{Operation, SpiDevice};
use livegate::cmd::screens;
use livegate::screen::fbdev::FbGeometry;
use livegate::screen::spi::Controller;
use livegate::screen::{Flush, Framebuffer, SpiPanel, SpiPanelOptions, draw};

const PADDING: u8 = 0xAA;

/// A file the size of a framebuffer with padded rows, every byte `PADDING`.
fn fb_file(g: &FbGeometry) -> (tempdir::Dir, File) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("fb0");
    let mut f = File::create(&path).unwrap();
    f.write_all(&vec![PADDING; (g.line_length * g.height) as usize]).unwrap();
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    (dir, f)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("livegate-fb-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn three_pixels<D: DrawTarget<Color = Rgb888>>(d: &mut D)
where
    D::Error: std::fmt::Debug,
{
    d.clear(Rgb888::BLACK).unwrap();
    Pixel(Point::new(0, 0), Rgb888::new(255, 0, 0)).draw(d).unwrap();
    Pixel(Point::new(1, 0), Rgb888::new(0, 255, 0)).draw(d).unwrap();
    Pixel(Point::new(2, 1), Rgb888::new(0, 0, 255)).draw(d).unwrap();
}

#[test]
fn rgb565_framebuffer_rows_land_at_line_length_strides_with_padding_untouched() {
    let g = FbGeometry::rgb565(3, 2, 8); // 6 bytes of pixels + 2 bytes of padding per row
    let (dir, file) = fb_file(&g);
    let mut fb = Framebuffer::with_geometry(file, &dir.0.join("fb0"), g).unwrap();
    three_pixels(&mut fb);
    fb.flush().unwrap();
    let bytes = std::fs::read(dir.0.join("fb0")).unwrap();
    #[rustfmt::skip]
    let expected = [
        0x00, 0xF8, 0xE0, 0x07, 0x00, 0x00, PADDING, PADDING, // red, green, black (LE words)
        0x00, 0x00, 0x00, 0x00, 0x1F, 0x00, PADDING, PADDING, // black, black, blue
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn xrgb8888_framebuffer_is_written_blue_green_red_x() {
    let g = FbGeometry::xrgb8888(3, 2, 16);
    let (dir, file) = fb_file(&g);
    let mut fb = Framebuffer::with_geometry(file, &dir.0.join("fb0"), g).unwrap();
    three_pixels(&mut fb);
    fb.flush().unwrap();
    let bytes = std::fs::read(dir.0.join("fb0")).unwrap();
    #[rustfmt::skip]
    let expected = [
        0, 0, 255, 0,  0, 255, 0, 0,  0, 0, 0, 0,  PADDING, PADDING, PADDING, PADDING,
        0, 0, 0, 0,    0, 0, 0, 0,    255, 0, 0, 0, PADDING, PADDING, PADDING, PADDING,
    ];
    assert_eq!(bytes, expected);
}

#[test]
fn a_whole_screen_on_an_xrgb8888_framebuffer_equals_the_png_rendering() {
    let frame =
        screens::load_frame(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(screens::FRAME)).unwrap();
    let (_, view) =
        livegate::screen::samples::samples(frame).into_iter().find(|(n, _)| *n == "nose").unwrap();
    let g = FbGeometry::xrgb8888(320, 240, 320 * 4 + 64);
    let (dir, file) = fb_file(&g);
    let mut fb = Framebuffer::with_geometry(file, &dir.0.join("fb0"), g).unwrap();
    let Ok(()) = draw(&view, &mut fb);
    fb.flush().unwrap();
    let bytes = std::fs::read(dir.0.join("fb0")).unwrap();
    let png = screens::render(&view, 320, 240);
    for y in 0..240u32 {
        for x in 0..320u32 {
            let o = (y * g.line_length + x * 4) as usize;
            let p = png.pixel(x, y).unwrap();
            assert_eq!(&bytes[o..o + 4], &[p.b(), p.g(), p.r(), 0], "pixel {x},{y}");
        }
    }
}

#[test]
fn opening_a_missing_framebuffer_names_the_device() {
    let err = Framebuffer::open(std::path::Path::new("/dev/fb-does-not-exist")).err().unwrap();
    assert!(err.to_string().contains("/dev/fb-does-not-exist"), "{err}");
}

/// What crossed the wire: a command byte (D/C low) or data bytes (D/C high).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wire {
    Cmd(u8),
    Data(Vec<u8>),
}

type Log = Rc<RefCell<(bool, Vec<Wire>)>>;
type Resets = Rc<RefCell<Vec<bool>>>;
type TestPanel = SpiPanel<RecordingSpi, DcPin, ResetPin>;

struct RecordingSpi(Log);

impl embedded_hal::spi::ErrorType for RecordingSpi {
    type Error = Infallible;
}

impl SpiDevice for RecordingSpi {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        let mut log = self.0.borrow_mut();
        for op in ops {
            if let Operation::Write(bytes) = op {
                let dc_high = log.0;
                match (dc_high, log.1.last_mut()) {
                    (false, _) => log.1.extend(bytes.iter().map(|b| Wire::Cmd(*b))),
                    (true, Some(Wire::Data(d))) => d.extend_from_slice(bytes),
                    (true, _) => log.1.push(Wire::Data(bytes.to_vec())),
                }
            }
        }
        Ok(())
    }
}

struct DcPin(Log);

impl ErrorType for DcPin {
    type Error = Infallible;
}

impl OutputPin for DcPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().0 = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().0 = true;
        Ok(())
    }
}

struct ResetPin(Resets);

impl ErrorType for ResetPin {
    type Error = Infallible;
}

impl OutputPin for ResetPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().push(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        self.0.borrow_mut().push(true);
        Ok(())
    }
}

struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _: u32) {}
}

fn panel(opts: &SpiPanelOptions, with_reset: bool) -> (TestPanel, Log, Resets) {
    let log: Log = Rc::new(RefCell::new((true, Vec::new())));
    let rst = Rc::new(RefCell::new(Vec::new()));
    let reset = with_reset.then(|| ResetPin(Rc::clone(&rst)));
    let p = SpiPanel::new(RecordingSpi(Rc::clone(&log)), DcPin(Rc::clone(&log)), reset, &mut NoDelay, opts)
        .unwrap();
    (p, log, rst)
}

fn commands(log: &Log) -> Vec<u8> {
    log.borrow().1.iter().filter_map(|w| if let Wire::Cmd(c) = w { Some(*c) } else { None }).collect()
}

fn small(controller: Controller) -> SpiPanelOptions {
    SpiPanelOptions { controller, width: 4, height: 2, invert_colors: true, ..SpiPanelOptions::default() }
}

#[test]
fn st7789_init_follows_the_datasheet_sequence() {
    let (_, log, rst) = panel(&small(Controller::St7789), true);
    assert_eq!(*rst.borrow(), vec![false, true], "hardware reset pulse");
    // SLPOUT, MADCTL, INVON, COLMOD, NORON, DISPON
    assert_eq!(commands(&log), vec![0x11, 0x36, 0x21, 0x3A, 0x13, 0x29]);
    let wire = log.borrow().1.clone();
    let colmod = wire.iter().position(|w| *w == Wire::Cmd(0x3A)).unwrap();
    assert_eq!(wire[colmod + 1], Wire::Data(vec![0x55]), "16 bits per pixel, RGB565");
}

#[test]
fn without_a_reset_pin_the_panel_gets_a_software_reset_first() {
    let (_, log, rst) = panel(&small(Controller::St7789), false);
    assert!(rst.borrow().is_empty());
    assert_eq!(commands(&log)[0], 0x01, "SWRESET");
}

#[test]
fn a_frame_is_one_window_and_big_endian_rgb565_pixels() {
    for controller in [Controller::St7789, Controller::Ili9341] {
        let (mut p, log, _) = panel(&small(controller), true);
        log.borrow_mut().1.clear();
        p.clear(Rgb888::BLACK).unwrap();
        Pixel(Point::new(0, 0), Rgb888::new(255, 0, 0)).draw(&mut p).unwrap();
        Pixel(Point::new(1, 0), Rgb888::new(0, 255, 0)).draw(&mut p).unwrap();
        Pixel(Point::new(2, 0), Rgb888::new(0, 0, 255)).draw(&mut p).unwrap();
        Pixel(Point::new(3, 1), Rgb888::WHITE).draw(&mut p).unwrap();
        p.flush().unwrap();
        #[rustfmt::skip]
        let expected = vec![
            Wire::Cmd(0x2A), Wire::Data(vec![0, 0, 0, 3]), // CASET columns 0..=3
            Wire::Cmd(0x2B), Wire::Data(vec![0, 0, 0, 1]), // RASET rows 0..=1
            Wire::Cmd(0x2C),                               // RAMWR
            Wire::Data(vec![
                0xF8, 0x00, 0x07, 0xE0, 0x00, 0x1F, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
            ]),
        ];
        assert_eq!(log.borrow().1, expected, "{controller:?}");
    }
}

#[test]
fn the_panel_offset_moves_the_address_window() {
    let opts = SpiPanelOptions { width: 240, height: 240, offset_y: 80, ..SpiPanelOptions::default() };
    let (mut p, log, _) = panel(&opts, true);
    log.borrow_mut().1.clear();
    p.flush().unwrap();
    let wire = log.borrow().1.clone();
    assert_eq!(
        wire[..4],
        [Wire::Cmd(0x2A), Wire::Data(vec![0, 0, 0, 239]), Wire::Cmd(0x2B), Wire::Data(vec![0, 80, 1, 63])]
    );
    assert_eq!(p.size(), Size::new(240, 240));
}

#[test]
fn rotated_panels_draw_in_landscape_and_bad_options_are_refused() {
    let opts = SpiPanelOptions {
        controller: Controller::Ili9341,
        width: 240,
        height: 320,
        rotation: 90,
        ..SpiPanelOptions::default()
    };
    let (p, _, _) = panel(&opts, true);
    assert_eq!(p.size(), Size::new(320, 240));
    let bad = SpiPanelOptions { rotation: 45, ..SpiPanelOptions::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("rotation"));
    let too_big = SpiPanelOptions { height: 321, ..SpiPanelOptions::default() };
    assert!(too_big.validate().is_err());
}

#[test]
fn spi_options_parse_from_json_and_reject_unknown_keys() {
    let o: SpiPanelOptions = serde_json::from_str(
        r#"{"controller":"ili9341","width":240,"height":320,"rotation":270,"dc_pin":24,"rst_pin":null}"#,
    )
    .unwrap();
    assert_eq!((o.controller, o.rotation, o.dc_pin, o.rst_pin), (Controller::Ili9341, 270, 24, None));
    assert_eq!(o.hz, SpiPanelOptions::default().hz);
    let err = serde_json::from_str::<SpiPanelOptions>(r#"{"dc":25}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `dc`"), "{err}");
}
