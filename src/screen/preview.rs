//! The challenge screen: the mirrored camera preview with the face area, the nose target and
//! the nose marker on top, the instruction under it and a bar for the state's remaining time.
//! Everything on the preview goes through one [`PreviewMap`].

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle};
use image::RgbImage;

use super::mapping::PreviewMap;
use super::style::{self, Style, centred, line_height, wrap};
use super::text;
use super::view::Challenge;
use crate::liveness::session::Phase;

/// Below this fraction of time left the progress bar turns red.
const HURRY: f32 = 0.25;

/// Draw a challenge in progress.
pub fn challenge<D, C>(target: &mut D, s: &Style, c: &Challenge) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    target.fill_solid(&s.screen, C::from(style::BACKGROUND))?;
    let content = s.content();
    let lines = wrap(&s.body, text::instruction(c.instruction), s.text_width());
    let bar_h = (s.bar / 3).max(6);
    let text_h = lines.len() as u32 * line_height(&s.body) + s.margin;
    let preview_h = content.size.height.saturating_sub(text_h + bar_h + s.margin / 2);
    let space = Rectangle::new(content.top_left, Size::new(content.size.width, preview_h));
    let (fw, fh) = (c.geometry.width, c.geometry.height);
    if let Some(map) = PreviewMap::fit(fw, fh, space) {
        match &c.frame {
            Some(frame) if frame.width() == fw && frame.height() == fh => picture(target, &map, frame)?,
            _ => target.fill_solid(&map.dest(), C::from(style::PREVIEW_EMPTY))?,
        }
        overlay(target, s, &map, c)?;
    }
    let mut y = space.top_left.y + preview_h as i32 + s.margin as i32 / 2;
    for l in &lines {
        centred(target, &s.body, l, content.center().x, y, style::TEXT)?;
        y += line_height(&s.body) as i32;
    }
    time_bar(target, s, c.remaining_fraction, bar_h)
}

/// The frame, mirrored and box-filtered down to the preview size.
fn picture<D, C>(target: &mut D, map: &PreviewMap, frame: &RgbImage) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let dest = map.dest();
    let cols: Vec<(u32, u32)> = (0..dest.size.width).map(|x| map.source_columns(x)).collect();
    let rows = (0..dest.size.height).map(|y| map.source_rows(y));
    let pixels = rows.flat_map(|(y0, y1)| {
        cols.iter().map(move |&(x0, x1)| {
            let mut sum = [0u32; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    let p = frame.get_pixel(x, y).0;
                    (0..3).for_each(|i| sum[i] += u32::from(p[i]));
                }
            }
            let n = (y1 - y0) * (x1 - x0);
            C::from(Rgb888::new((sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8))
        })
    });
    target.fill_contiguous(&dest, pixels)
}

/// Area frame, target square, nose marker and a guide line from the nose to the target.
fn overlay<D, C>(target: &mut D, s: &Style, map: &PreviewMap, c: &Challenge) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let g = &c.geometry;
    let area_color = if c.phase == Phase::Face { style::DIM } else { style::TEXT };
    map.rect_to_screen(&g.area)
        .into_styled(PrimitiveStyle::with_stroke(C::from(area_color), s.stroke))
        .draw(target)?;
    let show_target = matches!(c.phase, Phase::Nose | Phase::Done);
    let square = map.rect_to_screen(&g.target);
    // The target is small on a 240 px panel (about 7 px); never draw it smaller than a thumb-nail.
    let min_side = s.bar * 3 / 4;
    let square =
        Rectangle::with_center(square.center(), square.size.component_max(Size::new(min_side, min_side)));
    let nose = c.nose.map(|n| (map.to_screen(n), g.is_hit(n)));
    if show_target {
        if let Some((p, false)) = nose {
            Line::new(p, square.center())
                .into_styled(PrimitiveStyle::with_stroke(C::from(style::TARGET), (s.stroke / 2).max(1)))
                .draw(target)?;
        }
        square.into_styled(PrimitiveStyle::with_stroke(C::from(style::TARGET), s.stroke)).draw(target)?;
    }
    if let Some((p, hit)) = nose {
        let d = (s.bar / 2).max(8);
        let fill = if hit { style::OK } else { style::NOSE };
        Circle::with_center(p, d + 2 * s.stroke)
            .into_styled(PrimitiveStyle::with_fill(C::from(style::BAR)))
            .draw(target)?;
        Circle::with_center(p, d).into_styled(PrimitiveStyle::with_fill(C::from(fill))).draw(target)?;
    }
    Ok(())
}

/// The remaining time of the current state, as a bar along the bottom edge.
fn time_bar<D, C>(target: &mut D, s: &Style, fraction: f32, h: u32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let full = s.screen.size.width;
    let y = s.screen.top_left.y + s.screen.size.height.saturating_sub(h) as i32;
    let track = Rectangle::new(Point::new(s.screen.top_left.x, y), Size::new(full, h));
    target.fill_solid(&track, C::from(style::BAR))?;
    let f = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
    let color = if f < HURRY { style::BAD } else { style::TARGET };
    let w = (full as f32 * f).round() as u32;
    target.fill_solid(&Rectangle::new(track.top_left, Size::new(w, h)), C::from(color))
}
