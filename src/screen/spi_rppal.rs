//! The SPI panel on a Raspberry Pi through rppal: `/dev/spidev<bus>.<cs>` and the GPIO pins
//! named in [`SpiPanelOptions`]. Off a Pi (or with SPI disabled) opening fails with a message
//! that says which device or pin was missing, and the service can fall back to PNG output.

use rppal::gpio::{Gpio, OutputPin};
use rppal::hal::Delay;
use rppal::spi::{Bus, Mode, SimpleHalSpiDevice, SlaveSelect, Spi};

use super::spi::{SpiPanel, SpiPanelOptions};
use super::{BackBuffer, Canvas, Flush, ScreenError};

/// An SPI panel on the Pi's header, with its backlight held on.
pub struct RppalPanel {
    panel: SpiPanel<SimpleHalSpiDevice, OutputPin, OutputPin>,
    /// Kept so the pin stays high; rppal restores it when dropped.
    _backlight: Option<OutputPin>,
}

impl RppalPanel {
    /// Open the bus and pins and initialise the panel.
    ///
    /// # Errors
    /// [`ScreenError::Spi`] naming the SPI device or GPIO pin that could not be opened.
    pub fn open(opts: &SpiPanelOptions) -> Result<Self, ScreenError> {
        opts.validate()?;
        let bus = [Bus::Spi0, Bus::Spi1, Bus::Spi2, Bus::Spi3, Bus::Spi4, Bus::Spi5, Bus::Spi6]
            [usize::from(opts.spi_bus)];
        let ss = [SlaveSelect::Ss0, SlaveSelect::Ss1, SlaveSelect::Ss2][usize::from(opts.cs)];
        let mode = [Mode::Mode0, Mode::Mode1, Mode::Mode2, Mode::Mode3][usize::from(opts.spi_mode)];
        let spi = Spi::new(bus, ss, opts.hz, mode).map_err(|e| {
            ScreenError::Spi(format!(
                "cannot open /dev/spidev{}.{}: {e} (SPI enabled in raspi-config? user in group spi?)",
                opts.spi_bus, opts.cs
            ))
        })?;
        let gpio = Gpio::new()
            .map_err(|e| ScreenError::Spi(format!("GPIO unavailable: {e} (not a Raspberry Pi?)")))?;
        let pin = |n: u8| {
            gpio.get(n).map(|p| p.into_output()).map_err(|e| ScreenError::Spi(format!("GPIO {n}: {e}")))
        };
        let dc = pin(opts.dc_pin)?;
        let rst = opts.rst_pin.map(pin).transpose()?;
        let backlight = opts.backlight_pin.map(pin).transpose()?.map(|mut p| {
            p.set_high();
            p
        });
        let panel = SpiPanel::new(SimpleHalSpiDevice::new(spi), dc, rst, &mut Delay::new(), opts)?;
        Ok(Self { panel, _backlight: backlight })
    }
}

drawn_into!(RppalPanel => panel);

impl BackBuffer for RppalPanel {
    fn back(&mut self) -> &mut Canvas {
        self.panel.back()
    }

    fn flush_rows(&mut self, y0: u32, y1: u32) -> Result<(), ScreenError> {
        self.panel.flush_rows(y0, y1)
    }
}

impl Flush for RppalPanel {
    fn flush(&mut self) -> Result<(), ScreenError> {
        self.panel.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_pi_opening_the_panel_is_a_clear_error_not_a_panic() {
        if std::path::Path::new("/dev/spidev0.0").exists() {
            return; // on a real Pi this would drive the panel
        }
        let err = RppalPanel::open(&SpiPanelOptions::default()).err().expect("no SPI here");
        assert!(err.to_string().contains("/dev/spidev0.0"), "{err}");
    }
}
