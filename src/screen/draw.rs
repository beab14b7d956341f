//! `draw(view, target)`: the whole screen from a [`View`], on any embedded-graphics target
//! whose colour can be made from RGB888 (Rgb565 SPI panels, RGB888 canvases). Pure: the same
//! view on the same size gives the same pixels, which is what the golden tests rely on.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::glyphs::{self, Glyph};
use super::preview;
use super::redraw::Clip;
use super::style::{self, Style, centred, line_height, wrap};
use super::text::{self, Wording};
use super::view::{Fault, Scene, View};

/// Draw `view` over the whole of `target`.
///
/// # Errors
/// Only the target's own errors (an SPI or file write failing).
pub fn draw<D, C>(view: &View, target: &mut D) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let screen = target.bounding_box();
    draw_in(view, target, &[screen])
}

/// [`draw()`], but only inside the `clip` rectangles: there the pixels are exactly those of a
/// full draw, elsewhere the target is left alone.
pub(super) fn draw_in<D, C>(view: &View, target: &mut D, clip: &[Rectangle]) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let s = Style { language: view.language, ..Style::for_screen(target.bounding_box()) };
    match &view.scene {
        // The preview is drawn row by row on the target itself, inside the clip.
        Scene::Challenge(c) => preview::challenge(target, &s, c, clip)?,
        scene => scene_message(&mut Clip::new(target, clip), &s, scene)?,
    }
    glyphs::status_bar(&mut Clip::new(target, clip), &s, view.status)
}

/// The full-screen message of every scene but a challenge.
fn scene_message<D, C>(target: &mut D, s: &Style, scene: &Scene) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let lang = s.language;
    match scene {
        Scene::Challenge(_) => {}
        Scene::Idle => message(target, s, style::BACKGROUND, Glyph::Face, text::idle(lang), None)?,
        Scene::Pass => message(target, s, style::PASS_BG, Glyph::Check, text::pass(lang), None)?,
        Scene::Fail { reason } => {
            message(target, s, style::FAIL_BG, Glyph::Cross, text::failure(lang, *reason), None)?
        }
        Scene::Timeout { reason } => {
            let w = Wording { headline: text::timeout(lang), advice: text::failure(lang, *reason).advice };
            message(target, s, style::WAIT_BG, Glyph::Clock, w, None)?
        }
        Scene::Lockout { remaining_ms } => {
            let wait = text::wait_time(lang, *remaining_ms);
            message(
                target,
                s,
                style::BACKGROUND,
                Glyph::Lock,
                text::lockout(lang),
                Some((&wait, style::TARGET)),
            )?
        }
        Scene::Error(f) => {
            let detail = match f {
                Fault::Other(d) => Some((d.as_str(), style::DIM)),
                _ => None,
            };
            message(target, s, style::BACKGROUND, Glyph::Warning, text::fault(lang, f), detail)?
        }
    }
    Ok(())
}

/// Where a full-screen message's parts go: the lines of each part, the glyph's size and the
/// height of the whole block.
struct MessageLayout {
    headline: Vec<String>,
    extra: Option<(Vec<String>, Rgb888)>,
    advice: Vec<String>,
    /// The glyph's diameter.
    glyph: u32,
    gap: i32,
    /// Glyph, gap and text, top to bottom.
    total: i32,
}

impl MessageLayout {
    fn new(s: &Style, words: Wording, extra: Option<(&str, Rgb888)>) -> Self {
        let area = s.content();
        let width = s.text_width();
        let headline = wrap(&s.headline, words.headline, width);
        let extra = extra.map(|(t, c)| (wrap(&s.body, t, width), c));
        let advice = wrap(&s.body, words.advice, width);
        let (hl, bl) = (line_height(&s.headline) as i32, line_height(&s.body) as i32);
        let gap = s.margin as i32 / 2;
        let extra_n = extra.as_ref().map_or(0, |(l, _)| l.len()) as i32;
        let text_h = headline.len() as i32 * hl + gap + (extra_n + advice.len() as i32) * bl;
        let room = area.size.height as i32 - 2 * s.margin as i32 - text_h - gap;
        // As large as the room allows, but never dwarfing the headline.
        let glyph = room.min(area.size.width as i32 / 2).min(hl * 4).clamp(24, 200) as u32 * 9 / 10;
        let total = glyph as i32 + gap + text_h;
        Self { headline, extra, advice, glyph, gap, total }
    }

    /// Why the block does not fit the screen's content area of `s` (the style it was laid out
    /// in), if it does not: too tall, or a line (a word longer than the width) too wide.
    #[cfg(test)]
    fn misfit(&self, s: &Style) -> Option<String> {
        use u8g2_fonts::types::VerticalPosition;
        let area = s.content();
        if self.total > area.size.height as i32 {
            return Some(format!("{} px tall in {} px", self.total, area.size.height));
        }
        let lines = |font, ls: &[String]| ls.iter().map(move |l| (font, l.clone())).collect::<Vec<_>>();
        let mut all = lines(&s.headline, &self.headline);
        all.extend(lines(&s.body, &self.advice));
        all.extend(self.extra.iter().flat_map(|(l, _)| lines(&s.body, l)));
        for (font, l) in all {
            let d = match font.get_rendered_dimensions(l.as_str(), Point::zero(), VerticalPosition::Top) {
                Ok(d) => d,
                Err(e) => return Some(format!("{l:?}: {e:?}")),
            };
            let w = d.bounding_box.map_or(0, |b| b.size.width);
            if w > area.size.width {
                return Some(format!("{l:?} is {w} px wide in {} px", area.size.width));
            }
        }
        None
    }
}

/// A full-screen message: glyph, headline, an optional highlighted line, advice; the block
/// centred vertically below the status bar.
fn message<D, C>(
    target: &mut D,
    s: &Style,
    background: Rgb888,
    glyph: Glyph,
    words: Wording,
    extra: Option<(&str, Rgb888)>,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    target.fill_solid(&s.screen, C::from(background))?;
    let area = s.content();
    let m = MessageLayout::new(s, words, extra);
    let (hl, bl) = (line_height(&s.headline) as i32, line_height(&s.body) as i32);
    let cx = area.center().x;
    let mut y = area.top_left.y + (area.size.height as i32 - m.total) / 2;
    glyphs::big(target, glyph, Point::new(cx, y + m.glyph as i32 / 2), m.glyph, s.stroke)?;
    y += m.glyph as i32 + m.gap;
    for l in &m.headline {
        centred(target, &s.headline, l, cx, y, style::TEXT)?;
        y += hl;
    }
    y += m.gap;
    if let Some((lines, color)) = &m.extra {
        for l in lines {
            centred(target, &s.body, l, cx, y, *color)?;
            y += bl;
        }
    }
    for l in &m.advice {
        centred(target, &s.body, l, cx, y, style::TEXT)?;
        y += bl;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use embedded_graphics::pixelcolor::Rgb565;
    use embedded_graphics::primitives::Rectangle;
    use image::RgbImage;

    use super::*;
    use crate::liveness::session::Reason;
    use crate::screen::samples::samples;
    use crate::screen::text::{self, Language};
    use crate::screen::{Canvas, Prompt};

    #[test]
    fn every_message_and_prompt_of_every_language_fits_both_screen_sizes() {
        for size in [Size::new(240, 240), Size::new(800, 480)] {
            let s = Style::for_screen(Rectangle::new(Point::zero(), size));
            for lang in Language::ALL {
                let wait = text::wait_time(lang, 545_000);
                let mut messages: Vec<(Wording, Option<(&str, Rgb888)>)> = vec![
                    (text::idle(lang), None),
                    (text::pass(lang), None),
                    (text::lockout(lang), Some((wait.as_str(), style::TARGET))),
                ];
                for r in Reason::ALL {
                    messages.push((text::failure(lang, r), None));
                    let advice = text::failure(lang, r).advice;
                    messages.push((Wording { headline: text::timeout(lang), advice }, None));
                }
                for f in [Fault::CameraMissing, Fault::ModelsMissing, Fault::Other(String::new())] {
                    messages.push((text::fault(lang, &f), Some(("/dev/video0: no such device", style::DIM))));
                }
                for (words, extra) in messages {
                    let misfit = MessageLayout::new(&s, words, extra).misfit(&s);
                    assert_eq!(misfit, None, "{lang:?} at {size:?}: {words:?}");
                }
                for p in Prompt::ALL {
                    for line in wrap(&s.body, text::instruction(lang, p), s.text_width()) {
                        let d = s.body.get_rendered_dimensions(
                            line.as_str(),
                            Point::zero(),
                            u8g2_fonts::types::VerticalPosition::Top,
                        );
                        let w = d.map(|d| d.bounding_box.map_or(0, |b| b.size.width)).unwrap_or(u32::MAX);
                        assert!(w <= s.text_width(), "{lang:?} at {size:?}: {p:?}: {line:?} is {w} px");
                    }
                }
            }
        }
    }

    /// An Rgb565 target, as an SPI panel's colour type, to prove `draw` is colour-generic.
    struct Panel565(Vec<Rgb565>, Size);

    impl OriginDimensions for Panel565 {
        fn size(&self) -> Size {
            self.1
        }
    }

    impl DrawTarget for Panel565 {
        type Color = Rgb565;
        type Error = core::convert::Infallible;
        fn draw_iter<I: IntoIterator<Item = Pixel<Rgb565>>>(&mut self, px: I) -> Result<(), Self::Error> {
            let area = Rectangle::new(Point::zero(), self.1);
            for Pixel(p, c) in px.into_iter().filter(|p| area.contains(p.0)) {
                self.0[(p.y as u32 * self.1.width + p.x as u32) as usize] = c;
            }
            Ok(())
        }
    }

    #[test]
    fn every_screen_draws_on_odd_and_tiny_sizes_without_panicking() {
        let frame = Arc::new(RgbImage::new(640, 480));
        for (w, h) in [(1, 1), (16, 16), (64, 48), (96, 320), (1920, 1080)] {
            for (name, view) in samples(Arc::clone(&frame)) {
                let mut c = Canvas::new(w, h);
                let Ok(()) = draw(&view, &mut c);
                assert!(c.pixels().iter().any(|p| *p != Rgb888::BLACK), "{name} at {w}x{h} drew nothing");
            }
        }
    }

    #[test]
    fn an_rgb565_panel_gets_the_same_picture_quantised() {
        let frame = Arc::new(RgbImage::from_pixel(640, 480, image::Rgb([200, 120, 40])));
        for (name, view) in samples(frame) {
            let mut c = Canvas::new(240, 240);
            let Ok(()) = draw(&view, &mut c);
            let mut p = Panel565(vec![Rgb565::BLACK; 240 * 240], Size::new(240, 240));
            let Ok(()) = draw(&view, &mut p);
            let same = c.pixels().iter().zip(&p.0).all(|(a, b)| Rgb565::from(*a) == *b);
            assert!(same, "{name}");
        }
    }
}
