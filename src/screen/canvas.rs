//! An in-memory RGB framebuffer: the PNG target for development, demos and golden tests, and
//! the back buffer the device targets draw into before pushing a finished frame to glass
//! (so a visitor never sees a half-drawn screen).

use std::path::Path;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use image::RgbImage;

use super::ScreenError;

/// A `width × height` RGB888 picture that embedded-graphics can draw on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<Rgb888>,
}

impl Canvas {
    /// A black canvas.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, pixels: vec![Rgb888::BLACK; (width * height) as usize] }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel at (x, y); `None` outside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb888> {
        (x < self.width && y < self.height).then(|| self.pixels[(y * self.width + x) as usize])
    }

    /// Row `y`, left to right.
    pub fn row(&self, y: u32) -> &[Rgb888] {
        let w = self.width as usize;
        &self.pixels[y as usize * w..(y as usize + 1) * w]
    }

    /// All pixels, row by row.
    pub fn pixels(&self) -> &[Rgb888] {
        &self.pixels
    }

    /// The picture as an `image` buffer.
    pub fn to_image(&self) -> RgbImage {
        let raw = self.pixels.iter().flat_map(|p| [p.r(), p.g(), p.b()]).collect();
        RgbImage::from_raw(self.width, self.height, raw).expect("buffer size matches")
    }

    /// Write the picture as a PNG file.
    ///
    /// # Errors
    /// [`ScreenError::Png`] when the file cannot be written.
    pub fn save_png(&self, path: &Path) -> Result<(), ScreenError> {
        self.to_image()
            .save(path)
            .map_err(|e| ScreenError::Png { path: path.to_path_buf(), reason: e.to_string() })
    }
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                self.pixels[(p.y as u32 * self.width + p.x as u32) as usize] = c;
            }
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let area = area.intersection(&self.bounding_box());
        if area.is_zero_sized() {
            return Ok(()); // wholly outside: the intersection's corner may lie anywhere
        }
        let (x0, w) = (area.top_left.x as usize, area.size.width as usize);
        for y in area.rows() {
            let start = y as usize * self.width as usize + x0;
            self.pixels[start..start + w].fill(color);
        }
        Ok(())
    }

    /// Row copies for an area inside the canvas (the camera preview arrives row by row).
    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Self::Color>,
    {
        if area.is_zero_sized() || area.intersection(&self.bounding_box()) != *area {
            return self.draw_iter(area.points().zip(colors).map(|(p, c)| Pixel(p, c)));
        }
        let (x0, w) = (area.top_left.x as usize, area.size.width as usize);
        let mut colors = colors.into_iter();
        for y in area.rows() {
            let start = y as usize * self.width as usize + x0;
            for (px, c) in self.pixels[start..start + w].iter_mut().zip(colors.by_ref()) {
                *px = c;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

    #[test]
    fn drawing_outside_the_canvas_is_clipped_not_a_panic() {
        let mut c = Canvas::new(4, 3);
        Rectangle::new(Point::new(-2, 1), Size::new(10, 1))
            .into_styled(PrimitiveStyle::with_fill(Rgb888::RED))
            .draw(&mut c)
            .unwrap();
        assert_eq!(c.row(1), &[Rgb888::RED; 4]);
        assert_eq!(c.pixel(0, 0), Some(Rgb888::BLACK));
        assert_eq!(c.pixel(4, 0), None);
        c.fill_solid(&Rectangle::new(Point::new(9, 9), Size::new(3, 3)), Rgb888::RED).unwrap();
        assert_eq!(c.row(2), &[Rgb888::BLACK; 4]);
    }

    #[test]
    fn the_image_has_the_same_pixels() {
        let mut c = Canvas::new(2, 2);
        Pixel(Point::new(1, 0), Rgb888::new(1, 2, 3)).draw(&mut c).unwrap();
        assert_eq!(c.to_image().get_pixel(1, 0).0, [1, 2, 3]);
    }
}
