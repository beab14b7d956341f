//! The Linux framebuffer (`/dev/fb0`) for HDMI and DSI panels. The geometry and pixel layout
//! come from the FBIOGET_VSCREENINFO / FBIOGET_FSCREENINFO ioctls; the pixel packing follows
//! the reported bitfields (so RGB565, XRGB8888 — stored B,G,R,X in memory — and the BGR/RGBA
//! variants all work) and rows are written `line_length` bytes apart, which is often more
//! than `width × bytes per pixel`. Frames are drawn into a [`Canvas`] and written with
//! positioned writes, so the same code runs on a plain file in tests.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;

use super::{BackBuffer, Canvas, Flush, ScreenError};

/// Where one colour channel sits in a pixel: bit offset and bit length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    pub offset: u32,
    pub length: u32,
}

/// The framebuffer's layout, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FbGeometry {
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next.
    pub line_length: u32,
    pub bits_per_pixel: u32,
    pub red: Channel,
    pub green: Channel,
    pub blue: Channel,
}

impl FbGeometry {
    /// 16-bit RGB565, as most small DSI/HDMI framebuffers on a Pi.
    pub fn rgb565(width: u32, height: u32, line_length: u32) -> Self {
        let c = |offset, length| Channel { offset, length };
        Self { width, height, line_length, bits_per_pixel: 16, red: c(11, 5), green: c(5, 6), blue: c(0, 5) }
    }

    /// 32-bit XRGB8888: little-endian words, so bytes B, G, R, X in memory.
    pub fn xrgb8888(width: u32, height: u32, line_length: u32) -> Self {
        let c = |offset, length| Channel { offset, length };
        Self { width, height, line_length, bits_per_pixel: 32, red: c(16, 8), green: c(8, 8), blue: c(0, 8) }
    }

    fn bytes_per_pixel(&self) -> usize {
        self.bits_per_pixel as usize / 8
    }

    /// Refuse layouts this writer cannot pack.
    fn validate(&self) -> Result<(), String> {
        if !matches!(self.bits_per_pixel, 16 | 24 | 32) {
            return Err(format!("{} bits per pixel is not supported (16, 24 or 32)", self.bits_per_pixel));
        }
        if self.width == 0 || self.height == 0 {
            return Err("the framebuffer reports a size of 0".into());
        }
        if (self.line_length as usize) < self.width as usize * self.bytes_per_pixel() {
            return Err(format!(
                "line_length {} is shorter than a row of {} pixels",
                self.line_length, self.width
            ));
        }
        for ch in [self.red, self.green, self.blue] {
            if ch.length == 0 || ch.length > 8 || ch.offset + ch.length > self.bits_per_pixel {
                return Err(format!("unsupported colour bitfield {ch:?}"));
            }
        }
        Ok(())
    }

    /// One pixel in the device's packing, little-endian.
    fn pack(&self, c: Rgb888, out: &mut [u8]) {
        let put = |v: u8, ch: Channel| (u32::from(v) >> (8 - ch.length)) << ch.offset;
        let word = put(c.r(), self.red) | put(c.g(), self.green) | put(c.b(), self.blue);
        out.copy_from_slice(&word.to_le_bytes()[..out.len()]);
    }
}

/// A framebuffer device (or any file laid out like one).
pub struct Framebuffer {
    file: File,
    path: PathBuf,
    geometry: FbGeometry,
    back: Canvas,
    row: Vec<u8>,
}

impl Framebuffer {
    /// Open a framebuffer device and ask the kernel for its geometry.
    ///
    /// # Errors
    /// [`ScreenError::Framebuffer`] when the device cannot be opened (missing, no permission:
    /// the service user needs the `video` group), is not a framebuffer, or has a pixel format
    /// this writer cannot pack.
    pub fn open(path: &Path) -> Result<Self, ScreenError> {
        let err = |reason: String| ScreenError::Framebuffer { path: path.to_path_buf(), reason };
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| err(e.to_string()))?;
        let geometry = super::fbioctl::query(&file).map_err(err)?;
        Self::with_geometry(file, path, geometry)
    }

    /// Use `file` as a framebuffer of the given layout (tests use a plain file).
    ///
    /// # Errors
    /// [`ScreenError::Framebuffer`] for a layout this writer cannot pack.
    pub fn with_geometry(file: File, path: &Path, geometry: FbGeometry) -> Result<Self, ScreenError> {
        geometry
            .validate()
            .map_err(|reason| ScreenError::Framebuffer { path: path.to_path_buf(), reason })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            geometry,
            back: Canvas::new(geometry.width, geometry.height),
            row: vec![0; geometry.line_length as usize],
        })
    }

    pub fn geometry(&self) -> FbGeometry {
        self.geometry
    }
}

drawn_into!(Framebuffer => back);

impl Flush for Framebuffer {
    /// Write the back buffer row by row at `line_length` strides; bytes past the visible
    /// width (padding) are left as they were.
    fn flush(&mut self) -> Result<(), ScreenError> {
        self.flush_rows(0, self.geometry.height)
    }
}

impl BackBuffer for Framebuffer {
    fn back(&mut self) -> &mut Canvas {
        &mut self.back
    }

    /// Write rows `[y0, y1)` of the back buffer, as [`Flush::flush`] writes all of them.
    fn flush_rows(&mut self, y0: u32, y1: u32) -> Result<(), ScreenError> {
        let g = self.geometry;
        let bpp = g.bytes_per_pixel();
        let used = g.width as usize * bpp;
        for y in y0..y1.min(g.height) {
            for (px, out) in self.back.row(y).iter().zip(self.row[..used].chunks_exact_mut(bpp)) {
                g.pack(*px, out);
            }
            let offset = u64::from(y) * u64::from(g.line_length);
            self.file.write_all_at(&self.row[..used], offset).map_err(|e| ScreenError::Framebuffer {
                path: self.path.clone(),
                reason: format!("write row {y}: {e}"),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb565_packs_five_six_five_bits_little_endian() {
        let g = FbGeometry::rgb565(1, 1, 2);
        let mut out = [0u8; 2];
        g.pack(Rgb888::new(255, 0, 0), &mut out);
        assert_eq!(u16::from_le_bytes(out), 0xF800);
        g.pack(Rgb888::new(0, 255, 0), &mut out);
        assert_eq!(u16::from_le_bytes(out), 0x07E0);
        g.pack(Rgb888::new(8, 4, 255), &mut out);
        assert_eq!(u16::from_le_bytes(out), (1 << 11) | (1 << 5) | 0x1F);
    }

    #[test]
    fn xrgb8888_is_blue_green_red_x_in_memory() {
        let g = FbGeometry::xrgb8888(1, 1, 4);
        let mut out = [9u8; 4];
        g.pack(Rgb888::new(1, 2, 3), &mut out);
        assert_eq!(out, [3, 2, 1, 0]);
    }

    #[test]
    fn layouts_the_writer_cannot_pack_are_refused_with_a_reason() {
        let mut g = FbGeometry::rgb565(10, 10, 20);
        g.bits_per_pixel = 8;
        assert!(g.validate().unwrap_err().contains("8 bits per pixel"));
        let short = FbGeometry::xrgb8888(10, 10, 20);
        assert!(short.validate().unwrap_err().contains("line_length"));
    }
}
