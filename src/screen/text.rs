//! Every word the visitor reads. A door screen is read in a second, by someone who did not
//! expect to read anything: one short headline, one sentence saying what to do, no scores,
//! no jargon (SPEC §5 forbids raw scores on screen; they would also coach an attacker).

use crate::liveness::session::Reason;

use super::view::{Fault, Instruction};

/// A headline and the advice under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wording {
    pub headline: &'static str,
    pub advice: &'static str,
}

const fn w(headline: &'static str, advice: &'static str) -> Wording {
    Wording { headline, advice }
}

/// What the visitor does next during a challenge.
pub fn instruction(i: Instruction) -> &'static str {
    match i {
        Instruction::LookAtCamera => "Look at the camera",
        Instruction::ComeCloser => "Come closer",
        Instruction::CentreFace => "Put your face in the frame",
        Instruction::MoveNose => "Turn your head: nose into the square",
        Instruction::HoldStill => "Hold still",
    }
}

/// Why a check failed and what to try, in the visitor's words.
pub fn failure(reason: Reason) -> Wording {
    match reason {
        Reason::MultipleFaces => {
            w("More than one face", "One person at a time, please. Others step out of view.")
        }
        Reason::FaceLost => w("We lost your face", "Stay in front of the camera until the check is done."),
        Reason::FaceTimeout => {
            w("We could not see you", "Stand in front of the screen and look at the camera.")
        }
        Reason::AreaTimeout => {
            w("Face not in the frame", "Come closer and keep your face inside the white frame.")
        }
        Reason::NoseTimeout => {
            w("Square not reached", "Turn your head slowly until your nose is in the square.")
        }
        Reason::LeftArea => w("You left the frame", "Keep your face inside the white frame while you turn."),
        Reason::TurnedAway => w("Wrong way", "Turn your head toward the yellow square, not away."),
        Reason::NoRotation | Reason::LayoutUnchanged => {
            w("No head turn seen", "Please try again facing the camera, and turn your head, not your body.")
        }
        Reason::FlatMotion => w("Not verified", "Please try again facing the camera, in good light."),
        Reason::JerkyPath => w("Too fast", "Please try again and move your head slowly and smoothly."),
        Reason::Incomplete => w("Check not finished", "Please try again."),
        Reason::CameraError => w("Camera problem", "Please try again in a moment, or ask staff for help."),
        Reason::Cancelled => w("Check cancelled", "Please try again when the screen asks you to."),
    }
}

/// The headline of a timeout screen (the advice comes from [`failure`]).
pub const TIMEOUT: &str = "Time is up";

/// The pass screen.
pub const PASS: Wording = w("Welcome", "You may enter.");

/// The idle screen.
pub const IDLE: Wording = w("Hello", "Press the button or look here to start.");

/// The lockout screen's headline and advice; the remaining time goes between them.
pub const LOCKOUT: Wording = w("Too many tries", "Please wait, or ask staff for help.");

/// "Try again in 4 min 05 s" for the lockout screen.
pub fn wait_time(remaining_ms: u64) -> String {
    let s = remaining_ms.div_ceil(1000);
    if s >= 60 {
        format!("Try again in {} min {:02} s", s / 60, s % 60)
    } else {
        format!("Try again in {s} s")
    }
}

/// What an error screen says.
pub fn fault(f: &Fault) -> Wording {
    match f {
        Fault::CameraMissing => {
            w("Camera not found", "This door cannot check faces now. Please ask staff for help.")
        }
        Fault::ModelsMissing => {
            w("Not ready", "This door cannot check faces now. Please ask staff for help.")
        }
        Fault::Other(_) => w("Out of order", "This door cannot check faces now. Please ask staff for help."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Reason; 12] = [
        Reason::MultipleFaces,
        Reason::FaceLost,
        Reason::FaceTimeout,
        Reason::AreaTimeout,
        Reason::NoseTimeout,
        Reason::LeftArea,
        Reason::TurnedAway,
        Reason::NoRotation,
        Reason::LayoutUnchanged,
        Reason::FlatMotion,
        Reason::JerkyPath,
        Reason::Incomplete,
    ];

    #[test]
    fn every_failure_says_what_to_try_without_numbers() {
        for r in ALL {
            let t = failure(r);
            assert!(!t.headline.is_empty() && t.advice.ends_with('.'), "{r:?}");
            assert!(!t.advice.chars().any(|c| c.is_ascii_digit()), "{r:?} shows a number");
        }
    }

    #[test]
    fn wait_time_rounds_up_and_shows_minutes() {
        assert_eq!(wait_time(600_000), "Try again in 10 min 00 s");
        assert_eq!(wait_time(61_001), "Try again in 1 min 02 s");
        assert_eq!(wait_time(1), "Try again in 1 s");
    }
}
