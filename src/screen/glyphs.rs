//! Pictures that speak without words: the big glyph on each result screen and the small
//! camera/broker glyphs in the status bar. Built from embedded-graphics primitives, so they
//! scale with the screen and need no image assets.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Arc, Circle, Line, PrimitiveStyle, Rectangle, RoundedRectangle};

use super::style::{self, Style};
use super::view::Status;

/// The big glyph above a headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    Face,
    Check,
    Cross,
    Clock,
    Lock,
    Warning,
}

/// Draw `glyph` in white inside a circle of diameter `d` centred at `c`.
pub fn big<D, C>(target: &mut D, glyph: Glyph, c: Point, d: u32, stroke: u32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let line = PrimitiveStyle::with_stroke(C::from(style::TEXT), stroke);
    let fill = PrimitiveStyle::with_fill(C::from(style::TEXT));
    let r = d as i32 / 2;
    let p = |fx: f32, fy: f32| c + Point::new((fx * r as f32) as i32, (fy * r as f32) as i32);
    Circle::with_center(c, d).into_styled(line).draw(target)?;
    match glyph {
        Glyph::Face => {
            let eye = (d / 10).max(3);
            Circle::with_center(p(-0.35, -0.2), eye).into_styled(fill).draw(target)?;
            Circle::with_center(p(0.35, -0.2), eye).into_styled(fill).draw(target)?;
            Arc::with_center(c, d * 11 / 10 / 2, 30.0.deg(), 120.0.deg()).into_styled(line).draw(target)?;
        }
        Glyph::Check => {
            let thick = PrimitiveStyle::with_stroke(C::from(style::TEXT), stroke * 3);
            Line::new(p(-0.45, 0.0), p(-0.12, 0.35)).into_styled(thick).draw(target)?;
            Line::new(p(-0.12, 0.35), p(0.5, -0.35)).into_styled(thick).draw(target)?;
        }
        Glyph::Cross => {
            let thick = PrimitiveStyle::with_stroke(C::from(style::TEXT), stroke * 3);
            Line::new(p(-0.35, -0.35), p(0.35, 0.35)).into_styled(thick).draw(target)?;
            Line::new(p(0.35, -0.35), p(-0.35, 0.35)).into_styled(thick).draw(target)?;
        }
        Glyph::Clock => {
            Line::new(c, p(0.0, -0.65)).into_styled(line).draw(target)?;
            Line::new(c, p(0.45, 0.0)).into_styled(line).draw(target)?;
        }
        Glyph::Lock => {
            let body = Rectangle::with_corners(p(-0.45, -0.05), p(0.45, 0.5));
            body.into_styled(fill).draw(target)?;
            let shackle = PrimitiveStyle::with_stroke(C::from(style::TEXT), stroke * 2);
            Arc::with_center(p(0.0, -0.1), d * 55 / 200, 180.0.deg(), 180.0.deg())
                .into_styled(shackle)
                .draw(target)?;
            Line::new(p(-0.275, -0.1), p(-0.275, 0.0)).into_styled(shackle).draw(target)?;
            Line::new(p(0.275, -0.1), p(0.275, 0.0)).into_styled(shackle).draw(target)?;
        }
        Glyph::Warning => {
            Line::new(p(0.0, -0.55), p(0.0, 0.2))
                .into_styled(PrimitiveStyle::with_stroke(C::from(style::TEXT), stroke * 2))
                .draw(target)?;
            Circle::with_center(p(0.0, 0.45), (d / 8).max(3)).into_styled(fill).draw(target)?;
        }
    }
    Ok(())
}

/// The status bar: a strip across the top with the camera and broker glyphs on the right.
pub fn status_bar<D, C>(target: &mut D, s: &Style, status: Status) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let bar = Rectangle::new(s.screen.top_left, Size::new(s.screen.size.width, s.bar));
    target.fill_solid(&bar, C::from(style::BAR))?;
    let unit = s.bar as i32 * 6 / 10;
    let y = bar.center().y;
    let right = bar.top_left.x + bar.size.width as i32 - s.margin as i32;
    broker(target, Point::new(right - unit / 2, y), unit, status.broker_connected)?;
    camera(target, Point::new(right - unit * 2 - unit / 2, y), unit, status.camera_ok)
}

fn camera<D, C>(target: &mut D, c: Point, unit: i32, ok: bool) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let color = C::from(if ok { style::OK } else { style::BAD });
    let body = Rectangle::with_center(c, Size::new((unit * 3 / 2) as u32, unit as u32));
    RoundedRectangle::with_equal_corners(body, Size::new(2, 2))
        .into_styled(PrimitiveStyle::with_fill(color))
        .draw(target)?;
    Circle::with_center(c, (unit / 2) as u32)
        .into_styled(PrimitiveStyle::with_fill(C::from(style::BAR)))
        .draw(target)?;
    if !ok {
        slash(target, c, unit)?;
    }
    Ok(())
}

fn broker<D, C>(target: &mut D, c: Point, unit: i32, connected: bool) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let color = C::from(if connected { style::OK } else { style::DIM });
    let base = c + Point::new(0, unit / 2);
    Circle::with_center(base, (unit / 4).max(2) as u32)
        .into_styled(PrimitiveStyle::with_fill(color))
        .draw(target)?;
    for k in [1, 2] {
        let d = (unit * k) as u32;
        Arc::with_center(base, d, 225.0.deg(), 90.0.deg())
            .into_styled(PrimitiveStyle::with_stroke(color, 2))
            .draw(target)?;
    }
    if !connected {
        slash(target, c, unit)?;
    }
    Ok(())
}

fn slash<D, C>(target: &mut D, c: Point, unit: i32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = C>,
    C: PixelColor + From<Rgb888>,
{
    let h = unit * 3 / 4;
    Line::new(c + Point::new(-h, h), c + Point::new(h, -h))
        .into_styled(PrimitiveStyle::with_stroke(C::from(style::BAD), (unit / 6).max(2) as u32))
        .draw(target)
}
