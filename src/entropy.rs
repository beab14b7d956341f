//! The OS CSPRNG (`/dev/urandom`): challenge targets and challenge ids come from here and
//! nowhere else, so a visitor or an attacker cannot predict the next target.

use std::io::Read;

use crate::liveness::TargetDraw;
use crate::liveness::geometry::{TARGET_DX, TARGET_DY};

/// Fills `buf` from the OS CSPRNG.
///
/// # Errors
/// When `/dev/urandom` cannot be read.
pub fn fill(buf: &mut [u8]) -> std::io::Result<()> {
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

fn u32() -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    fill(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Uniform in `range` without modulo bias (rejection sampling).
fn uniform(range: &std::ops::RangeInclusive<u32>) -> std::io::Result<u32> {
    let span = range.end() - range.start() + 1;
    let limit = u32::MAX - u32::MAX % span;
    loop {
        let v = u32()?;
        if v < limit {
            return Ok(range.start() + v % span);
        }
    }
}

/// A fresh challenge target (side, offsets) from the OS CSPRNG.
///
/// # Errors
/// When the OS random source cannot be read.
pub fn target_draw() -> std::io::Result<TargetDraw> {
    let sides = uniform(&(0..=3))?;
    Ok(TargetDraw {
        right: sides & 1 == 1,
        below: sides & 2 == 2,
        dx: uniform(&TARGET_DX)?,
        dy: uniform(&TARGET_DY)?,
    })
}

/// A fresh pair of flash sequences of `n` palette indices, for the screen's left and right
/// halves (`liveness::light::usable_pair`).
///
/// # Errors
/// When the OS random source cannot be read.
pub fn light_colours(n: usize) -> std::io::Result<(Vec<usize>, Vec<usize>)> {
    let palette = crate::liveness::light::PALETTE.len() as u32;
    crate::liveness::light::draw_pair(n, || uniform(&(0..=palette - 1)).map(|i| i as usize))
}

/// A fresh 128-bit challenge id, as hex.
///
/// # Errors
/// When the OS random source cannot be read.
pub fn challenge_id() -> std::io::Result<String> {
    hex_token(16)
}

/// `bytes` fresh random bytes, as lowercase hex (nonces, request and client ids).
///
/// # Errors
/// When the OS random source cannot be read.
pub fn hex_token(bytes: usize) -> std::io::Result<String> {
    let mut b = vec![0u8; bytes];
    fill(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_targets_stay_in_range_and_cover_every_side() {
        let mut sides = [false; 4];
        for _ in 0..200 {
            let t = target_draw().unwrap();
            assert!(TARGET_DX.contains(&t.dx) && TARGET_DY.contains(&t.dy));
            sides[usize::from(t.right) + 2 * usize::from(t.below)] = true;
        }
        assert!(sides.iter().all(|&s| s), "200 draws should reach all four quadrants");
    }

    #[test]
    fn every_allowed_length_draws_a_usable_pair_of_flash_sequences() {
        for n in 3..=10 {
            let (l, r) = light_colours(n).unwrap();
            assert!(l.len() == n && crate::liveness::light::usable_pair(&l, &r), "{n}: {l:?} {r:?}");
        }
    }

    #[test]
    fn challenge_ids_are_128_bit_hex_and_differ() {
        let (a, b) = (challenge_id().unwrap(), challenge_id().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
