//! Sizes, fonts and colours derived from the target's bounding box: one small-panel tier
//! (240×240, 320×240: SPI TFTs read from an arm's length) and one large tier (800×480 HDMI/DSI).
//! Text is drawn with u8g2's Free Universal Bold, whose large sizes stay crisp at 800×480,
//! where embedded-graphics' mono fonts (at most 10×20) would look like a terminal.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

pub const BACKGROUND: Rgb888 = Rgb888::new(18, 22, 30);
pub const BAR: Rgb888 = Rgb888::new(8, 10, 14);
pub const TEXT: Rgb888 = Rgb888::new(245, 245, 245);
pub const DIM: Rgb888 = Rgb888::new(150, 158, 170);
pub const TARGET: Rgb888 = Rgb888::new(255, 204, 0);
pub const NOSE: Rgb888 = Rgb888::new(0, 200, 255);
pub const OK: Rgb888 = Rgb888::new(40, 190, 90);
pub const BAD: Rgb888 = Rgb888::new(230, 60, 50);
pub const PASS_BG: Rgb888 = Rgb888::new(20, 120, 60);
pub const FAIL_BG: Rgb888 = Rgb888::new(120, 30, 30);
pub const WAIT_BG: Rgb888 = Rgb888::new(110, 70, 10);
pub const PREVIEW_EMPTY: Rgb888 = Rgb888::new(40, 44, 52);

/// Everything size-dependent about one screen.
pub struct Style {
    pub screen: Rectangle,
    /// Height of the status bar at the top.
    pub bar: u32,
    /// Line width of frames and glyph strokes.
    pub stroke: u32,
    pub headline: FontRenderer,
    pub body: FontRenderer,
    pub margin: u32,
    /// The language of the words (the view's).
    pub language: super::text::Language,
}

impl Style {
    /// The style for a screen of this bounding box.
    pub fn for_screen(screen: Rectangle) -> Self {
        let large = screen.size.height >= 400 && screen.size.width >= 480;
        let quiet = |f: FontRenderer| f.with_ignore_unknown_chars(true);
        if large {
            Self {
                screen,
                bar: 36,
                stroke: 4,
                headline: quiet(FontRenderer::new::<fonts::u8g2_font_fub42_tf>()),
                body: quiet(FontRenderer::new::<fonts::u8g2_font_fub20_tf>()),
                margin: 24,
                language: super::text::Language::default(),
            }
        } else {
            Self {
                screen,
                bar: 20,
                stroke: 2,
                headline: quiet(FontRenderer::new::<fonts::u8g2_font_fub20_tf>()),
                body: quiet(FontRenderer::new::<fonts::u8g2_font_helvB12_tf>()),
                margin: 8,
                language: super::text::Language::default(),
            }
        }
    }

    /// The screen below the status bar.
    pub fn content(&self) -> Rectangle {
        let s = self.screen;
        Rectangle::new(
            s.top_left + Point::new(0, self.bar as i32),
            Size::new(s.size.width, s.size.height.saturating_sub(self.bar)),
        )
    }

    /// Usable text width.
    pub fn text_width(&self) -> u32 {
        self.screen.size.width.saturating_sub(2 * self.margin)
    }
}

/// Lines of one font's height.
pub fn line_height(font: &FontRenderer) -> u32 {
    font.get_default_line_height()
}

/// Greedy word wrap of `text` into lines no wider than `width` pixels in `font`.
pub fn wrap(font: &FontRenderer, text: &str, width: u32) -> Vec<String> {
    let fits = |s: &str| {
        font.get_rendered_dimensions(s, Point::zero(), VerticalPosition::Top)
            .map(|d| d.bounding_box.map_or(0, |b| b.size.width) <= width)
            .unwrap_or(true)
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if fits(&candidate) || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draw one line centred on `x`, its top at `y`. Font lookup errors cannot happen (unknown
/// characters are skipped), so only the target's own error is passed on.
pub fn centred<D, C>(
    target: &mut D,
    font: &FontRenderer,
    text: &str,
    x: i32,
    y: i32,
    color: Rgb888,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let r = font.render_aligned(
        text,
        Point::new(x, y),
        VerticalPosition::Top,
        HorizontalAlignment::Center,
        FontColor::Transparent(C::from(color)),
        target,
    );
    match r {
        Err(u8g2_fonts::Error::DisplayError(e)) => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_line_inside_the_width() {
        let style = Style::for_screen(Rectangle::new(Point::zero(), Size::new(240, 240)));
        let text = "Please try again facing the camera, and turn your head, not your body.";
        let lines = wrap(&style.body, text, style.text_width());
        assert!(lines.len() >= 2);
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            let d =
                style.body.get_rendered_dimensions(l.as_str(), Point::zero(), VerticalPosition::Top).unwrap();
            assert!(d.bounding_box.unwrap().size.width <= style.text_width(), "{l}");
        }
    }

    #[test]
    fn every_phrase_of_every_language_has_all_its_glyphs_in_both_fonts_at_both_sizes() {
        use super::super::text::{Language, every_phrase};
        for size in [Size::new(240, 240), Size::new(800, 480)] {
            let style = Style::for_screen(Rectangle::new(Point::zero(), size));
            // The fonts as drawn, but saying which glyph is missing instead of skipping it.
            for font in [&style.headline, &style.body] {
                let strict = font.clone().with_ignore_unknown_chars(false);
                for lang in Language::ALL {
                    for phrase in every_phrase(lang) {
                        let r = strict.get_rendered_dimensions(phrase, Point::zero(), VerticalPosition::Top);
                        assert!(r.is_ok(), "{lang:?} at {size:?}: {phrase:?}: {r:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn large_screens_get_the_large_fonts() {
        let small = Style::for_screen(Rectangle::new(Point::zero(), Size::new(320, 240)));
        let large = Style::for_screen(Rectangle::new(Point::zero(), Size::new(800, 480)));
        assert!(line_height(&large.headline) > 2 * line_height(&small.body));
        assert!(large.bar > small.bar);
    }
}
