//! The challenge screen: the mirrored camera preview with the face area, the nose target and
//! the nose marker on top, the instruction under it and a bar for the state's remaining time.
//! Everything on the preview goes through one [`PreviewMap`].
//!
//! Drawing can be limited to a few screen rectangles (`clip`): [`super::redraw::Redraw`]
//! redraws only what changed between two views, and gets there exactly the pixels a full
//! draw would give.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::pixelcolor::raw::RawU24;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle};
use image::RgbImage;
use u8g2_fonts::types::{HorizontalAlignment, VerticalPosition};

use super::mapping::PreviewMap;
use super::redraw::{Clip, Recorder};
use super::style::{self, Style, centred, line_height, wrap};
use super::text;
use super::view::Challenge;
use crate::liveness::session::Phase;

/// Below this fraction of time left the progress bar turns red.
const HURRY: f32 = 0.25;

/// Where the parts of a challenge screen go.
struct Layout {
    lines: Vec<String>,
    /// Top of the first instruction line.
    text_top: i32,
    bar_h: u32,
    map: Option<PreviewMap>,
}

impl Layout {
    fn new(s: &Style, c: &Challenge) -> Self {
        let content = s.content();
        let lines = wrap(&s.body, text::instruction(s.language, c.prompt), s.text_width());
        let bar_h = (s.bar / 3).max(6);
        let text_h = lines.len() as u32 * line_height(&s.body) + s.margin;
        let preview_h = content.size.height.saturating_sub(text_h + bar_h + s.margin / 2);
        let space = Rectangle::new(content.top_left, Size::new(content.size.width, preview_h));
        let map = PreviewMap::fit(c.geometry.width, c.geometry.height, space);
        let text_top = space.top_left.y + preview_h as i32 + s.margin as i32 / 2;
        Self { lines, text_top, bar_h, map }
    }
}

/// Draw a challenge in progress, only inside the `clip` rectangles (the whole screen for a
/// full draw; each layer is drawn over all of them before the next).
pub fn challenge<D, C>(target: &mut D, s: &Style, c: &Challenge, clip: &[Rectangle]) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let layout = Layout::new(s, c);
    // The light challenge fills the background's left and right halves with its two colours;
    // the guidance stays readable on a dark band of its own.
    let whole = [(s.screen, style::BACKGROUND)];
    let split;
    let fills: &[(Rectangle, Rgb888)] = match c.flash {
        Some(f) => {
            let left = Size::new((s.screen.center().x - s.screen.top_left.x) as u32, s.screen.size.height);
            let right = Size::new(s.screen.size.width - left.width, left.height);
            split = [
                (Rectangle::new(s.screen.top_left, left), Rgb888::new(f.left[0], f.left[1], f.left[2])),
                (
                    Rectangle::new(s.screen.top_left + Point::new(left.width as i32, 0), right),
                    Rgb888::new(f.right[0], f.right[1], f.right[2]),
                ),
            ];
            &split
        }
        None => &whole,
    };
    // The preview covers its rectangle (picture or grey), so the background skips it. While
    // the screen flashes, the picture shows only in the face area's frame, where the visitor
    // looks for the nose and the target, and the flash colours fill the rest of the preview
    // too: the more of the panel flashes, the more light reaches the face (the flash-lit
    // share of an 800×480 panel: 0.40 around the whole preview, 0.71 around the face area).
    let hole = layout.map.map(|m| window(&m, c));
    for r in clip {
        for (area, colour) in fills {
            fill_around(target, &r.intersection(area), hole.as_ref(), C::from(*colour))?;
        }
    }
    if let Some(map) = &layout.map {
        let dest = window(map, c);
        match &c.frame {
            Some(frame) if frame.width() == c.geometry.width && frame.height() == c.geometry.height => {
                for r in clip {
                    picture(target, map, frame, &r.intersection(&dest))?;
                }
            }
            _ => {
                for r in clip {
                    let r = r.intersection(&dest);
                    if !r.is_zero_sized() {
                        target.fill_solid(&r, C::from(style::PREVIEW_EMPTY))?;
                    }
                }
            }
        }
        overlay(&mut Clip::new(target, clip), s, map, c)?;
    }
    let x = s.content().center().x;
    let mut y = layout.text_top;
    for l in &layout.lines {
        let at = Point::new(x, y);
        let bounds = s
            .body
            .get_rendered_dimensions_aligned(
                l.as_str(),
                at,
                VerticalPosition::Top,
                HorizontalAlignment::Center,
            )
            .ok()
            .flatten();
        // A line outside every clip rectangle would draw nothing there: skip rendering it.
        if bounds.is_none_or(|b| clip.iter().any(|r| !r.intersection(&b).is_zero_sized())) {
            if let (Some(_), Some(b)) = (c.flash, bounds) {
                let pad = Size::new(s.margin / 2, s.margin / 4);
                let band = Rectangle::new(
                    b.top_left - Point::new(pad.width as i32, pad.height as i32),
                    b.size + pad * 2,
                );
                for r in clip {
                    let r = r.intersection(&band).intersection(&s.screen);
                    if !r.is_zero_sized() {
                        target.fill_solid(&r, C::from(style::BACKGROUND))?;
                    }
                }
            }
            centred(&mut Clip::new(target, clip), &s.body, l, x, y, style::TEXT)?;
        }
        y += line_height(&s.body) as i32;
    }
    time_bar(&mut Clip::new(target, clip), s, c.remaining_fraction, layout.bar_h)
}

/// Where the camera picture shows: the whole preview, or while the screen flashes only the
/// face area (the rectangle its frame is drawn on), clipped to the preview.
fn window(map: &PreviewMap, c: &Challenge) -> Rectangle {
    match c.flash {
        Some(_) => map.rect_to_screen(&c.geometry.area).intersection(&map.dest()),
        None => map.dest(),
    }
}

/// The screen area the overlay (area frame, target, nose marker, guide line) covers, if any.
pub fn overlay_bounds(s: &Style, c: &Challenge) -> Option<Rectangle> {
    let map = Layout::new(s, c).map?;
    let mut rec = Recorder::new(s.screen);
    let Ok(()) = overlay(&mut rec, s, &map, c);
    rec.bounds()
}

/// The screen rectangle of the camera preview.
pub fn preview_rect(s: &Style, c: &Challenge) -> Option<Rectangle> {
    Layout::new(s, c).map.map(|m| m.dest())
}

/// The strip of the remaining-time bar.
pub fn time_track(s: &Style, c: &Challenge) -> Rectangle {
    let h = Layout::new(s, c).bar_h;
    track(s, h)
}

/// Fill `area` except where it meets `hole`.
fn fill_around<D: DrawTarget>(
    target: &mut D,
    area: &Rectangle,
    hole: Option<&Rectangle>,
    color: D::Color,
) -> Result<(), D::Error> {
    if area.is_zero_sized() {
        return Ok(());
    }
    let h = hole.map(|h| h.intersection(area)).filter(|h| !h.is_zero_sized());
    let Some(h) = h else {
        return target.fill_solid(area, color);
    };
    let (ax0, ay0) = (area.top_left.x, area.top_left.y);
    let (ax1, ay1) = (ax0 + area.size.width as i32, ay0 + area.size.height as i32);
    let (hx0, hy0) = (h.top_left.x, h.top_left.y);
    let (hx1, hy1) = (hx0 + h.size.width as i32, hy0 + h.size.height as i32);
    let bands = [
        Rectangle::with_corners(Point::new(ax0, ay0), Point::new(ax1 - 1, hy0 - 1)),
        Rectangle::with_corners(Point::new(ax0, hy1), Point::new(ax1 - 1, ay1 - 1)),
        Rectangle::with_corners(Point::new(ax0, hy0), Point::new(hx0 - 1, hy1 - 1)),
        Rectangle::with_corners(Point::new(hx1, hy0), Point::new(ax1 - 1, hy1 - 1)),
    ];
    let nonempty = [hy0 > ay0, ay1 > hy1, hx0 > ax0, ax1 > hx1];
    for (band, keep) in bands.iter().zip(nonempty) {
        if keep {
            target.fill_solid(band, color)?;
        }
    }
    Ok(())
}

/// The frame, mirrored and box-filtered down to the preview size, in `region` (screen
/// pixels inside the preview): each screen pixel is the truncated mean of the camera pixels
/// [`PreviewMap::source_columns`] × [`PreviewMap::source_rows`] of it.
fn picture<D, C>(
    target: &mut D,
    map: &PreviewMap,
    frame: &RgbImage,
    region: &Rectangle,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    if region.is_zero_sized() {
        return Ok(());
    }
    let dest = map.dest();
    let off = region.top_left - dest.top_left;
    let (col0, row0) = (off.x as u32, off.y as u32);
    let cols: Vec<(u32, u32)> = (col0..col0 + region.size.width).map(|x| map.source_columns(x)).collect();
    let mut box_filter = BoxFilter::new(frame, &cols);
    let mut row = vec![Rgb888::BLACK; cols.len()];
    for (i, y) in (row0..row0 + region.size.height).enumerate() {
        box_filter.row(map.source_rows(y), &mut row);
        let line = Rectangle::new(region.top_left + Point::new(0, i as i32), Size::new(region.size.width, 1));
        target.fill_contiguous(&line, row.iter().map(|&p| C::from(p)))?;
    }
    Ok(())
}

/// Box filtering of whole screen rows. Most previews shrink by less than 2 (800×480 shows a
/// 640×480 camera at 0.77), so every screen pixel averages 1 or 2 camera columns of 1 or 2
/// rows; that case runs on three 16-bit channel sums in one `u64` (no carries: each sum is
/// at most 4 × 255), every other case pixel by pixel.
struct BoxFilter<'a> {
    frame: &'a RgbImage,
    cols: &'a [(u32, u32)],
    /// Fast case: per screen column the offsets of its two camera pixels (the same pixel
    /// twice for a single column) in `sums`.
    pairs: Option<Vec<(u16, u16)>>,
    /// One camera row's channel sums, counted so that every screen pixel sums 4 values.
    /// Fixed size, indexed by `u16` offsets: no bounds checks in the inner loop.
    sums: Box<[u16; SUMS]>,
}

/// Room for a row of 21 845 camera pixels plus the 4th lane read past the last one.
const SUMS: usize = 65_540;

/// The three 8-bit means in the `u64` lanes at bits 0, 16, 32 (times 4, see `row`) →
/// RGB888's `0xRRGGBB`: one multiply moves red to bit 48, green to 40, blue stays at 32.
const LANES: u64 = 0x00ff_00ff_00ff << 2;
const GATHER: u64 = 1 + (1 << 24) + (1 << 48);

impl<'a> BoxFilter<'a> {
    fn new(frame: &'a RgbImage, cols: &'a [(u32, u32)]) -> Self {
        let fits = (frame.width() as usize * 3) < SUMS - 4;
        let pairs = (fits && cols.iter().all(|&(a, b)| b - a <= 2))
            .then(|| cols.iter().map(|&(a, b)| ((a * 3) as u16, ((b - 1) * 3) as u16)).collect());
        let sums = vec![0u16; SUMS].into_boxed_slice().try_into().expect("SUMS long");
        Self { frame, cols, pairs, sums }
    }

    /// The screen row whose camera rows are `[y0, y1)`, into `out` (one pixel per column).
    fn row(&mut self, (y0, y1): (u32, u32), out: &mut [Rgb888]) {
        let n3 = self.frame.width() as usize * 3;
        let raw = self.frame.as_raw();
        match &self.pairs {
            Some(pairs) if y1 - y0 <= 2 => {
                let r0 = &raw[y0 as usize * n3..][..n3];
                let sums = &mut self.sums[..n3];
                if y1 - y0 == 2 {
                    let r1 = &raw[(y0 as usize + 1) * n3..][..n3];
                    for ((s, a), b) in sums.iter_mut().zip(r0).zip(r1) {
                        *s = u16::from(*a) + u16::from(*b);
                    }
                } else {
                    // One row counts twice, so a pixel of n ∈ {1, 2, 4} values sums 4 of them:
                    // ⌊4·s/n / 4⌋ = ⌊s/n⌋.
                    for (s, a) in sums.iter_mut().zip(r0) {
                        *s = 2 * u16::from(*a);
                    }
                }
                let sums = &*self.sums;
                let lanes = |i: u16| {
                    let i = i as usize;
                    u64::from(sums[i])
                        | u64::from(sums[i + 1]) << 16
                        | u64::from(sums[i + 2]) << 32
                        | u64::from(sums[i + 3]) << 48
                };
                for (o, &(a, b)) in out.iter_mut().zip(pairs) {
                    // A single column is taken twice: again 4 values in every sum.
                    let s = (lanes(a) + lanes(b)) & LANES;
                    *o = Rgb888::from(RawU24::new((s.wrapping_mul(GATHER) >> 34) as u32));
                }
            }
            _ => {
                for (o, &(x0, x1)) in out.iter_mut().zip(self.cols) {
                    let mut sum = [0u32; 3];
                    for y in y0..y1 {
                        let line = &raw[y as usize * n3..][..n3];
                        for p in line[x0 as usize * 3..x1 as usize * 3].chunks_exact(3) {
                            (0..3).for_each(|i| sum[i] += u32::from(p[i]));
                        }
                    }
                    let n = (y1 - y0) * (x1 - x0);
                    *o = Rgb888::new((sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8);
                }
            }
        }
    }
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
    let track = track(s, h);
    target.fill_solid(&track, C::from(style::BAR))?;
    let f = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
    let color = if f < HURRY { style::BAD } else { style::TARGET };
    let w = (full as f32 * f).round() as u32;
    target.fill_solid(&Rectangle::new(track.top_left, Size::new(w, h)), C::from(color))
}

fn track(s: &Style, h: u32) -> Rectangle {
    let y = s.screen.top_left.y + s.screen.size.height.saturating_sub(h) as i32;
    Rectangle::new(Point::new(s.screen.top_left.x, y), Size::new(s.screen.size.width, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::Canvas;

    /// The box filter as it was first written: every screen pixel summed from `get_pixel`.
    fn reference(map: &PreviewMap, frame: &RgbImage, canvas: &mut Canvas) {
        let dest = map.dest();
        for y in 0..dest.size.height {
            let (y0, y1) = map.source_rows(y);
            for x in 0..dest.size.width {
                let (x0, x1) = map.source_columns(x);
                let mut sum = [0u32; 3];
                for v in y0..y1 {
                    for u in x0..x1 {
                        let p = frame.get_pixel(u, v).0;
                        (0..3).for_each(|i| sum[i] += u32::from(p[i]));
                    }
                }
                let n = (y1 - y0) * (x1 - x0);
                let c = Rgb888::new((sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8);
                Pixel(dest.top_left + Point::new(x as i32, y as i32), c).draw(canvas).unwrap();
            }
        }
    }

    #[test]
    fn the_fast_box_filter_gives_the_reference_means_at_every_scale() {
        let frame = RgbImage::from_fn(640, 480, |x, y| {
            let v = x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ (x * y);
            image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        });
        // Shrinks by less than 2 (the fast case), by 2–3 and more, same size, enlargements.
        for (w, h) in [
            (491, 368),
            (800, 480),
            (640, 480),
            (320, 240),
            (321, 239),
            (240, 180),
            (97, 61),
            (1280, 960),
            (1920, 1080),
        ] {
            let space = Rectangle::new(Point::new(3, 5), Size::new(w, h));
            let map = PreviewMap::fit(640, 480, space).unwrap();
            let mut fast = Canvas::new(w + 6, h + 10);
            let mut slow = fast.clone();
            picture(&mut fast, &map, &frame, &map.dest()).unwrap();
            reference(&map, &frame, &mut slow);
            assert!(fast == slow, "{w}x{h}");
            // A part of the preview: the same pixels there.
            let part = Rectangle::new(map.dest().top_left + Point::new(7, 3), Size::new(w / 3, h / 4));
            let mut piece = Canvas::new(w + 6, h + 10);
            picture(&mut piece, &map, &frame, &part).unwrap();
            for p in part.points() {
                assert_eq!(
                    piece.pixel(p.x as u32, p.y as u32),
                    slow.pixel(p.x as u32, p.y as u32),
                    "{w}x{h} {p:?}"
                );
            }
        }
    }
}
