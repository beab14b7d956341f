//! The 4-wire SPI link to a MIPI-DCS controller: D/C low for a command byte, high for its
//! parameters and for pixel data. mipidsi ships one too, but it borrows its buffer; this one
//! owns it, so a panel can live on the drawing thread without a leaked or static buffer.

use embedded_hal::digital::{ErrorType, OutputPin};
use embedded_hal::spi::SpiDevice;
use mipidsi::interface::{Interface, InterfaceKind};

/// Software reset (MIPI DCS 0x01).
pub const SWRESET: u8 = 0x01;

/// Pixel bytes sent per SPI write (the spidev default `bufsiz` is 4096).
const CHUNK: usize = 4096;

/// A bus or D/C pin failure.
#[derive(Debug)]
pub enum SpiBusError<S, D> {
    Spi(S),
    Dc(D),
}

/// An SPI device plus its D/C pin.
pub struct SpiBus<SPI, DC> {
    spi: SPI,
    dc: DC,
    buffer: Vec<u8>,
}

impl<SPI: SpiDevice, DC: OutputPin> SpiBus<SPI, DC> {
    pub fn new(spi: SPI, dc: DC) -> Self {
        Self { spi, dc, buffer: Vec::with_capacity(CHUNK) }
    }

    /// Send one command and its parameters.
    ///
    /// # Errors
    /// The bus's or the pin's error.
    pub fn command(&mut self, cmd: u8, args: &[u8]) -> Result<(), SpiBusError<SPI::Error, DC::Error>> {
        self.dc.set_low().map_err(SpiBusError::Dc)?;
        self.spi.write(&[cmd]).map_err(SpiBusError::Spi)?;
        self.dc.set_high().map_err(SpiBusError::Dc)?;
        if !args.is_empty() {
            self.spi.write(args).map_err(SpiBusError::Spi)?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> Result<(), SpiBusError<SPI::Error, DC::Error>> {
        if !self.buffer.is_empty() {
            self.spi.write(&self.buffer).map_err(SpiBusError::Spi)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl<SPI: SpiDevice, DC: OutputPin> Interface for SpiBus<SPI, DC> {
    type Word = u8;
    type Error = SpiBusError<SPI::Error, DC::Error>;

    const KIND: InterfaceKind = InterfaceKind::Serial4Line;

    fn send_command(&mut self, command: u8, args: &[u8]) -> Result<(), Self::Error> {
        self.command(command, args)
    }

    fn send_pixels<const N: usize>(
        &mut self,
        pixels: impl IntoIterator<Item = [u8; N]>,
    ) -> Result<(), Self::Error> {
        for p in pixels {
            if self.buffer.len() + N > CHUNK {
                self.write_buffer()?;
            }
            self.buffer.extend_from_slice(&p);
        }
        self.write_buffer()
    }

    fn send_repeated_pixel<const N: usize>(&mut self, pixel: [u8; N], count: u32) -> Result<(), Self::Error> {
        self.send_pixels((0..count).map(|_| pixel))
    }
}

/// An optional reset pin; without one the panel is reset by SWRESET before init.
pub struct MaybePin<P>(pub Option<P>);

impl<P: OutputPin> ErrorType for MaybePin<P> {
    type Error = P::Error;
}

impl<P: OutputPin> OutputPin for MaybePin<P> {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.as_mut().map_or(Ok(()), OutputPin::set_low)
    }

    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.as_mut().map_or(Ok(()), OutputPin::set_high)
    }
}
