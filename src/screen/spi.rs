//! SPI TFT panels (ST7789, ILI9341) driven by mipidsi. The panel is generic over
//! embedded-hal 1.0 `SpiDevice` and `OutputPin`, so the same code runs on the Pi through rppal
//! ([`super::spi_rppal`]) and in tests against a recording bus. Frames are drawn into a
//! back buffer and sent in one address window (CASET 0x2A, RASET 0x2B, RAMWR 0x2C, then
//! RGB565 big-endian pixels): a whole 240×240 frame is 115 200 bytes, about 29 ms at 32 MHz,
//! where drawing pixel by pixel would resend the window for every pixel.

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use embedded_hal::spi::SpiDevice;
use mipidsi::models::{ILI9341Rgb565, ST7789};
use mipidsi::options::{ColorInversion, ColorOrder, Orientation, Rotation};
use mipidsi::{Builder, Display};
use serde::{Deserialize, Serialize};

use super::spi_bus::{MaybePin, SWRESET, SpiBus};
use super::{BackBuffer, Canvas, Flush, ScreenError};

/// The panel controllers we drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Controller {
    St7789,
    Ili9341,
}

/// How an SPI panel is wired and mounted (the `[screen.spi]` config table). Pins are BCM
/// GPIO numbers; `width × height` is the panel before rotation, as in its datasheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpiPanelOptions {
    pub controller: Controller,
    pub width: u16,
    pub height: u16,
    /// Clockwise degrees: 0, 90, 180 or 270.
    pub rotation: u16,
    /// Where the visible area starts in the controller's 240×320 memory (240×240 ST7789
    /// modules need `offset_y = 80` when rotated by 180°).
    pub offset_x: u16,
    pub offset_y: u16,
    pub dc_pin: u8,
    pub rst_pin: Option<u8>,
    pub backlight_pin: Option<u8>,
    /// `/dev/spidev<spi_bus>.<cs>`.
    pub spi_bus: u8,
    pub cs: u8,
    /// SPI mode 0..=3 (some CS-less ST7789 boards need 3).
    pub spi_mode: u8,
    pub hz: u32,
    /// IPS ST7789 panels show a negative without inversion.
    pub invert_colors: bool,
    /// Panels wired blue-first.
    pub bgr: bool,
}

impl Default for SpiPanelOptions {
    /// A 240×240 ST7789 IPS module on SPI0 CE0 with DC on GPIO 25, RST 27, backlight 24.
    fn default() -> Self {
        Self {
            controller: Controller::St7789,
            width: 240,
            height: 240,
            rotation: 0,
            offset_x: 0,
            offset_y: 0,
            dc_pin: 25,
            rst_pin: Some(27),
            backlight_pin: Some(24),
            spi_bus: 0,
            cs: 0,
            spi_mode: 0,
            hz: 32_000_000,
            invert_colors: true,
            bgr: false,
        }
    }
}

impl SpiPanelOptions {
    /// Check the values without touching hardware.
    ///
    /// # Errors
    /// [`ScreenError::Spi`] naming the bad key.
    pub fn validate(&self) -> Result<(), ScreenError> {
        let bad = |m: String| Err(ScreenError::Spi(m));
        if !matches!(self.rotation, 0 | 90 | 180 | 270) {
            return bad(format!("rotation must be 0, 90, 180 or 270, not {}", self.rotation));
        }
        let (w, h) = (
            u32::from(self.width) + u32::from(self.offset_x),
            u32::from(self.height) + u32::from(self.offset_y),
        );
        if self.width == 0 || self.height == 0 || w > 240 || h > 320 {
            return bad(format!(
                "width {} + offset_x {} and height {} + offset_y {} must fit the controller's 240×320",
                self.width, self.offset_x, self.height, self.offset_y
            ));
        }
        if self.spi_mode > 3 || self.hz == 0 || self.spi_bus > 6 || self.cs > 2 {
            return bad("spi_mode must be 0..=3, hz > 0, spi_bus 0..=6 and cs 0..=2".into());
        }
        Ok(())
    }

    /// The drawing size after rotation.
    pub fn screen_size(&self) -> Size {
        match self.rotation {
            90 | 270 => Size::new(self.height.into(), self.width.into()),
            _ => Size::new(self.width.into(), self.height.into()),
        }
    }

    fn orientation(&self) -> Orientation {
        let r = match self.rotation {
            90 => Rotation::Deg90,
            180 => Rotation::Deg180,
            270 => Rotation::Deg270,
            _ => Rotation::Deg0,
        };
        Orientation::new().rotate(r)
    }
}

enum Driver<SPI, DC, RST>
where
    SPI: SpiDevice,
    DC: OutputPin,
    RST: OutputPin,
{
    St7789(Display<SpiBus<SPI, DC>, ST7789, MaybePin<RST>>),
    Ili9341(Display<SpiBus<SPI, DC>, ILI9341Rgb565, MaybePin<RST>>),
}

/// An initialised SPI panel; draw on it, then [`Flush::flush`] to send the frame.
pub struct SpiPanel<SPI, DC, RST>
where
    SPI: SpiDevice,
    DC: OutputPin,
    RST: OutputPin,
{
    driver: Driver<SPI, DC, RST>,
    back: Canvas,
}

impl<SPI, DC, RST> SpiPanel<SPI, DC, RST>
where
    SPI: SpiDevice,
    DC: OutputPin,
    RST: OutputPin,
{
    /// Reset and initialise the controller. Without a reset pin the controller gets a
    /// software reset (SWRESET 0x01) and 150 ms to recover.
    ///
    /// # Errors
    /// [`ScreenError::Spi`] for bad options or when the bus or a pin fails.
    pub fn new(
        spi: SPI,
        dc: DC,
        rst: Option<RST>,
        delay: &mut impl DelayNs,
        opts: &SpiPanelOptions,
    ) -> Result<Self, ScreenError> {
        opts.validate()?;
        let mut bus = SpiBus::new(spi, dc);
        if rst.is_none() {
            bus.command(SWRESET, &[]).map_err(|e| ScreenError::Spi(format!("software reset: {e:?}")))?;
            delay.delay_ms(150);
        }
        let inversion = if opts.invert_colors { ColorInversion::Inverted } else { ColorInversion::Normal };
        let order = if opts.bgr { ColorOrder::Bgr } else { ColorOrder::Rgb };
        macro_rules! build {
            ($model:expr, $variant:ident) => {{
                let b = Builder::new($model, bus)
                    .display_size(opts.width, opts.height)
                    .display_offset(opts.offset_x, opts.offset_y)
                    .orientation(opts.orientation())
                    .invert_colors(inversion)
                    .color_order(order);
                let display = b.reset_pin(MaybePin(rst)).init(delay);
                Driver::$variant(display.map_err(|e| ScreenError::Spi(format!("panel init: {e:?}")))?)
            }};
        }
        let driver = match opts.controller {
            Controller::St7789 => build!(ST7789, St7789),
            Controller::Ili9341 => build!(ILI9341Rgb565, Ili9341),
        };
        let size = opts.screen_size();
        Ok(Self { driver, back: Canvas::new(size.width, size.height) })
    }
}

drawn_into!(impl<SPI: SpiDevice, DC: OutputPin, RST: OutputPin> SpiPanel<SPI, DC, RST> => back);

impl<SPI, DC, RST> Flush for SpiPanel<SPI, DC, RST>
where
    SPI: SpiDevice,
    DC: OutputPin,
    RST: OutputPin,
{
    /// Send the whole back buffer in one address window.
    fn flush(&mut self) -> Result<(), ScreenError> {
        self.flush_rows(0, self.back.height())
    }
}

impl<SPI, DC, RST> BackBuffer for SpiPanel<SPI, DC, RST>
where
    SPI: SpiDevice,
    DC: OutputPin,
    RST: OutputPin,
{
    fn back(&mut self) -> &mut Canvas {
        &mut self.back
    }

    /// Send rows `[y0, y1)` in one address window of their own.
    fn flush_rows(&mut self, y0: u32, y1: u32) -> Result<(), ScreenError> {
        let y1 = y1.min(self.back.height());
        if y0 >= y1 {
            return Ok(());
        }
        let w = self.back.width();
        let rows = &self.back.pixels()[(y0 * w) as usize..(y1 * w) as usize];
        let pixels = rows.iter().map(|p| Rgb565::from(*p));
        let (x1, y0, y1) = (w as u16 - 1, y0 as u16, y1 as u16 - 1);
        let r = match &mut self.driver {
            Driver::St7789(d) => d.set_pixels(0, y0, x1, y1, pixels),
            Driver::Ili9341(d) => d.set_pixels(0, y0, x1, y1, pixels),
        };
        r.map_err(|e| ScreenError::Spi(format!("frame write: {e:?}")))
    }
}
