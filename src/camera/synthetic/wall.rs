//! The wall behind the visitor. Real doors have painted plaster, bricks, tiles and posters;
//! texture behind a head is what the surround check measures and what a cut-out's outline
//! slides over, so every session draws its own ([`Wall`], in [`super::Conditions`]).
//!
//! The wall is drawn in image pixels (it is far behind the visitor and does not move): a
//! soft gradient with a door frame on either side, then the session's pattern over it.

use image::{Rgb, RgbImage};

use super::SeededRng;

/// What covers the wall behind the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum Wall {
    /// Painted plaster: a gradient and fine grain, nothing to track.
    Plain,
    /// Brick in running bond (bricks 36–72 px wide, a third as tall), mortar joints, each
    /// brick its own tone.
    Bricks,
    /// Square tiles (30–80 px) with grout lines and a faint speckle.
    Tiles,
    /// Painted wall with 2–4 notices on it: coloured blocks and lines of dark text.
    Posters,
}

impl Wall {
    /// Every kind, in table order.
    pub const ALL: [Wall; 4] = [Wall::Plain, Wall::Bricks, Wall::Tiles, Wall::Posters];

    /// One of the kinds, each equally likely.
    pub fn sample(rng: &mut SeededRng) -> Self {
        Self::ALL[(rng.next_u64() % Self::ALL.len() as u64) as usize]
    }

    /// The label of the per-condition tables.
    pub fn label(self) -> &'static str {
        match self {
            Wall::Plain => "plain",
            Wall::Bricks => "bricks",
            Wall::Tiles => "tiles",
            Wall::Posters => "posters",
        }
    }

    /// The wall of a `width` × `height` frame; the pattern's sizes, colours and offsets come
    /// from `rng`.
    pub fn render(self, width: u32, height: u32, rng: &mut SeededRng) -> RgbImage {
        let pattern = Pattern::draw(self, width, height, rng);
        RgbImage::from_fn(width, height, |x, y| {
            let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
            let door = (0.08..0.16).contains(&u) || (0.84..0.92).contains(&u);
            let grain = ((x * 7 + y * 13) % 17) as f32 - 8.0;
            let base = if door {
                [120.0, 92.0, 70.0]
            } else {
                let paint = [168.0 - 30.0 * v, 170.0 - 28.0 * v, 160.0 - 20.0 * u];
                pattern.over(paint, x as f32, y as f32)
            };
            Rgb(base.map(|c| (c + grain * 0.8).clamp(0.0, 255.0) as u8))
        })
    }
}

/// A notice on the wall: its rectangle, paper colour and text lines.
struct Notice {
    rect: [f32; 4],
    paper: [f32; 3],
    /// A coloured block at the top (a heading or a picture): its height and colour.
    block: (f32, [f32; 3]),
    /// Text: line pitch, stroke height, and a seed for the words' lengths.
    pitch: f32,
    stroke: f32,
    words: u64,
}

/// The drawn parameters of one wall's pattern.
enum Pattern {
    Plain,
    Bricks { w: f32, h: f32, joint: f32, offset: [f32; 2], clay: [f32; 3], mortar: [f32; 3], seed: u64 },
    Tiles { size: f32, joint: f32, offset: [f32; 2], glaze: [f32; 3], grout: [f32; 3], seed: u64 },
    Posters(Vec<Notice>),
}

/// A hash of integers to `[0, 1)`: per-brick tones without storing them.
fn hash01(seed: u64, a: i64, b: i64) -> f32 {
    let mut z = seed
        ^ (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

fn scale(c: [f32; 3], k: f32) -> [f32; 3] {
    c.map(|v| v * k)
}

impl Pattern {
    fn draw(wall: Wall, width: u32, height: u32, rng: &mut SeededRng) -> Self {
        let (w, h) = (width as f32, height as f32);
        let seed = rng.next_u64();
        let offset = [rng.uniform(0.0, 200.0), rng.uniform(0.0, 200.0)];
        match wall {
            Wall::Plain => Pattern::Plain,
            Wall::Bricks => {
                let bw = rng.uniform(36.0, 72.0);
                // Red, brown, yellow or a brick wall painted over (low contrast).
                let clay = match rng.next_u64() % 4 {
                    0 => [150.0, 70.0, 50.0],
                    1 => [120.0, 80.0, 60.0],
                    2 => [190.0, 160.0, 110.0],
                    _ => [200.0, 198.0, 190.0],
                };
                let mortar = [185.0, 180.0, 170.0];
                Pattern::Bricks {
                    w: bw,
                    h: bw / 3.0,
                    joint: rng.uniform(1.5, 3.0),
                    offset,
                    clay,
                    mortar,
                    seed,
                }
            }
            Wall::Tiles => {
                let glaze = [rng.uniform(150.0, 235.0), rng.uniform(150.0, 235.0), rng.uniform(150.0, 235.0)];
                let grout = scale(glaze, rng.uniform(0.55, 0.8));
                Pattern::Tiles {
                    size: rng.uniform(30.0, 80.0),
                    joint: rng.uniform(1.5, 3.0),
                    offset,
                    glaze,
                    grout,
                    seed,
                }
            }
            Wall::Posters => {
                let n = 2 + (rng.next_u64() % 3) as usize;
                let notices = (0..n)
                    .map(|_| {
                        let (nw, nh) = (rng.uniform(0.12, 0.3) * w, rng.uniform(0.15, 0.4) * h);
                        let (x0, y0) = (rng.uniform(0.0, w - nw), rng.uniform(0.0, h - nh));
                        let paper =
                            [rng.uniform(200.0, 250.0), rng.uniform(200.0, 250.0), rng.uniform(190.0, 245.0)];
                        let block =
                            [rng.uniform(20.0, 220.0), rng.uniform(20.0, 220.0), rng.uniform(20.0, 220.0)];
                        let pitch = rng.uniform(6.0, 14.0);
                        Notice {
                            rect: [x0, y0, x0 + nw, y0 + nh],
                            paper,
                            block: (nh * rng.uniform(0.15, 0.4), block),
                            pitch,
                            stroke: pitch * rng.uniform(0.35, 0.55),
                            words: rng.next_u64(),
                        }
                    })
                    .collect();
                Pattern::Posters(notices)
            }
        }
    }

    /// The wall's colour at `(x, y)` over the paint `paint`.
    fn over(&self, paint: [f32; 3], x: f32, y: f32) -> [f32; 3] {
        // The paint's light falloff carries over to whatever covers it.
        let shade = (paint[1] / 170.0).clamp(0.7, 1.1);
        match self {
            Pattern::Plain => paint,
            Pattern::Bricks { w, h, joint, offset, clay, mortar, seed } => {
                let (px, py) = (x + offset[0], y + offset[1]);
                let row = (py / h).floor();
                let shift = if (row as i64).rem_euclid(2) == 1 { w / 2.0 } else { 0.0 };
                let col = ((px + shift) / w).floor();
                let (fx, fy) = ((px + shift) - col * w, py - row * h);
                if fx < *joint || fy < *joint {
                    return scale(*mortar, shade);
                }
                let tone = 0.8 + 0.4 * hash01(*seed, col as i64, row as i64);
                scale(*clay, tone * shade)
            }
            Pattern::Tiles { size, joint, offset, glaze, grout, seed } => {
                let (px, py) = (x + offset[0], y + offset[1]);
                let (col, row) = ((px / size).floor(), (py / size).floor());
                let (fx, fy) = (px - col * size, py - row * size);
                if fx < *joint || fy < *joint {
                    return scale(*grout, shade);
                }
                let tone = 0.95 + 0.1 * hash01(*seed, col as i64, row as i64);
                let speck = hash01(*seed ^ 0x5EC, px as i64, py as i64);
                let speck = if speck > 0.985 { 0.75 } else { 1.0 };
                scale(*glaze, tone * speck * shade)
            }
            Pattern::Posters(notices) => {
                let Some(n) = notices
                    .iter()
                    .rev()
                    .find(|n| x >= n.rect[0] && x < n.rect[2] && y >= n.rect[1] && y < n.rect[3])
                else {
                    return paint;
                };
                let (lx, ly) = (x - n.rect[0], y - n.rect[1]);
                let margin = n.pitch;
                let inner = lx >= margin && lx < n.rect[2] - n.rect[0] - margin;
                if ly < n.block.0 {
                    return if inner && ly >= margin {
                        scale(n.block.1, shade)
                    } else {
                        scale(n.paper, shade)
                    };
                }
                let line = ((ly - n.block.0) / n.pitch).floor();
                let in_stroke = (ly - n.block.0) - line * n.pitch < n.stroke;
                if !inner || !in_stroke || ly > n.rect[3] - n.rect[1] - margin {
                    return scale(n.paper, shade);
                }
                // Words: runs of 3–9 characters (a character ≈ 0.6 pitch) with spaces.
                let ch = (lx / (0.6 * n.pitch)).floor() as i64;
                let word_gap = hash01(n.words, line as i64, ch) < 0.18;
                let letter = lx - (lx / (0.6 * n.pitch)).floor() * 0.6 * n.pitch;
                if word_gap || letter > 0.42 * n.pitch {
                    scale(n.paper, shade)
                } else {
                    scale([40.0, 40.0, 45.0], shade)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The share of the wall (away from the door frames) where the green channel steps by
    /// more than 16 levels to the next pixel right or down: edges to track, which plaster's
    /// grain (±6.4) does not make.
    fn texture(wall: Wall, seed: u64) -> f32 {
        let img = wall.render(640, 480, &mut SeededRng::new(seed));
        let g = |x: u32, y: u32| f32::from(img.get_pixel(x, y)[1]);
        let mut edges = 0;
        let mut n = 0;
        for y in 0..479 {
            for x in 110..530 {
                let step = (g(x + 1, y) - g(x, y)).abs().max((g(x, y + 1) - g(x, y)).abs());
                edges += usize::from(step > 16.0);
                n += 1;
            }
        }
        edges as f32 / n as f32
    }

    #[test]
    fn patterned_walls_have_texture_and_plaster_has_grain_only() {
        for seed in 0..8 {
            let plain = texture(Wall::Plain, seed);
            assert!(plain < 0.001, "plaster seed {seed}: {plain}");
            for wall in [Wall::Bricks, Wall::Tiles, Wall::Posters] {
                let t = texture(wall, seed);
                assert!(t > 0.005, "{wall:?} seed {seed}: {t}");
            }
        }
    }

    #[test]
    fn a_wall_is_the_same_for_the_same_seed_and_differs_between_seeds() {
        let a = Wall::Bricks.render(160, 120, &mut SeededRng::new(3));
        assert_eq!(a, Wall::Bricks.render(160, 120, &mut SeededRng::new(3)));
        assert_ne!(a, Wall::Bricks.render(160, 120, &mut SeededRng::new(4)));
    }

    #[test]
    fn sampling_draws_every_kind() {
        let mut rng = SeededRng::new(1);
        let drawn: std::collections::HashSet<Wall> = (0..64).map(|_| Wall::sample(&mut rng)).collect();
        assert_eq!(drawn.len(), Wall::ALL.len());
    }
}
