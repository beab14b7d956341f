//! Every word the visitor reads. A door screen is read in a second, by someone who did not
//! expect to read anything: one short headline, one sentence saying what to do, no scores,
//! no jargon (SPEC §5 forbids raw scores on screen; they would also coach an attacker).

use serde::{Deserialize, Serialize};

use crate::liveness::session::Reason;

use super::view::{Fault, Prompt};

/// A headline and the advice under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wording {
    pub headline: &'static str,
    pub advice: &'static str,
}

const fn w(headline: &'static str, advice: &'static str) -> Wording {
    Wording { headline, advice }
}

/// The language of the screen (`[screen] language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    De,
    Fr,
    Es,
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|l| l.code() == s)
            .ok_or_else(|| format!("unknown language {s:?} (en, de, fr or es)"))
    }
}

impl Language {
    pub const ALL: [Self; 4] = [Self::En, Self::De, Self::Fr, Self::Es];

    /// `en`, `de`, `fr`, `es`: the config's spelling.
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
        }
    }
}

/// Every phrase a screen shows, in one language. One table per language; adding a phrase to
/// the struct makes every table say it (or the crate does not compile).
struct Table {
    look_at_camera: &'static str,
    come_closer: &'static str,
    centre_face: &'static str,
    move_nose: &'static str,
    hold_still: &'static str,
    multiple_faces: Wording,
    face_lost: Wording,
    face_timeout: Wording,
    area_timeout: Wording,
    nose_timeout: Wording,
    left_area: Wording,
    turned_away: Wording,
    no_rotation: Wording,
    flat_motion: Wording,
    jerky_path: Wording,
    incomplete: Wording,
    camera_error: Wording,
    cancelled: Wording,
    no_light: Wording,
    moving_surround: Wording,
    timeout: &'static str,
    pass: Wording,
    idle: Wording,
    lockout: Wording,
    /// "Try again in {m} min {ss} s" and "Try again in {s} s": the words around the numbers.
    wait_min: (&'static str, &'static str, &'static str),
    wait_s: (&'static str, &'static str),
    camera_missing: Wording,
    models_missing: Wording,
    out_of_order: Wording,
}

const EN: Table = Table {
    look_at_camera: "Look at the camera",
    come_closer: "Come closer",
    centre_face: "Put your face in the frame",
    move_nose: "Turn your head: nose into the square",
    hold_still: "Hold still",
    multiple_faces: w("More than one face", "One person at a time, please. Others step out of view."),
    face_lost: w("We lost your face", "Stay in front of the camera until the check is done."),
    face_timeout: w("We could not see you", "Stand in front of the screen and look at the camera."),
    area_timeout: w("Face not in the frame", "Come closer and keep your face inside the white frame."),
    nose_timeout: w("Square not reached", "Turn your head slowly until your nose is in the square."),
    left_area: w("You left the frame", "Keep your face inside the white frame while you turn."),
    turned_away: w("Wrong way", "Turn your head toward the yellow square, not away."),
    no_rotation: w(
        "No head turn seen",
        "Please try again facing the camera, and turn your head, not your body.",
    ),
    flat_motion: w("Not verified", "Please try again facing the camera, in good light."),
    jerky_path: w("Too fast", "Please try again and move your head slowly and smoothly."),
    incomplete: w("Check not finished", "Please try again."),
    camera_error: w("Camera problem", "Please try again in a moment, or ask staff for help."),
    cancelled: w("Check cancelled", "Please try again when the screen asks you to."),
    no_light: w("Not verified", "Face the screen, closer, out of direct sunlight, and try again."),
    moving_surround: w("Not verified", "Turn only your head, and try again."),
    timeout: "Time is up",
    pass: w("Welcome", "You may enter."),
    idle: w("Hello", "Press the button or look here to start."),
    lockout: w("Too many tries", "Please wait, or ask staff for help."),
    wait_min: ("Try again in ", " min ", " s"),
    wait_s: ("Try again in ", " s"),
    camera_missing: w("Camera not found", "This door cannot check faces now. Please ask staff for help."),
    models_missing: w("Not ready", "This door cannot check faces now. Please ask staff for help."),
    out_of_order: w("Out of order", "This door cannot check faces now. Please ask staff for help."),
};

const DE: Table = Table {
    look_at_camera: "Bitte in die Kamera schauen",
    come_closer: "Bitte näher kommen",
    centre_face: "Gesicht in den Rahmen bringen",
    move_nose: "Kopf drehen: Nase ins Quadrat",
    hold_still: "Bitte stillhalten",
    multiple_faces: w("Mehr als ein Gesicht", "Bitte nur eine Person. Alle anderen treten zur Seite."),
    face_lost: w("Gesicht verloren", "Bleiben Sie vor der Kamera, bis die Prüfung fertig ist."),
    face_timeout: w("Niemand zu sehen", "Stellen Sie sich vor den Bildschirm und schauen Sie in die Kamera."),
    area_timeout: w(
        "Gesicht nicht im Rahmen",
        "Kommen Sie näher und halten Sie das Gesicht im weißen Rahmen.",
    ),
    nose_timeout: w("Quadrat nicht erreicht", "Drehen Sie den Kopf langsam, bis die Nase im Quadrat ist."),
    left_area: w("Rahmen verlassen", "Halten Sie das Gesicht beim Drehen im weißen Rahmen."),
    turned_away: w("Falsche Richtung", "Drehen Sie den Kopf zum gelben Quadrat hin, nicht weg."),
    no_rotation: w(
        "Keine Kopfdrehung",
        "Bitte noch einmal: Blick zur Kamera, den Kopf drehen, nicht den Körper.",
    ),
    flat_motion: w("Nicht bestätigt", "Bitte noch einmal, mit Blick zur Kamera und bei gutem Licht."),
    jerky_path: w("Zu schnell", "Bitte noch einmal und den Kopf langsam und gleichmäßig bewegen."),
    incomplete: w("Prüfung nicht beendet", "Bitte noch einmal versuchen."),
    camera_error: w("Kameraproblem", "Bitte gleich noch einmal versuchen oder das Personal fragen."),
    cancelled: w("Prüfung abgebrochen", "Bitte erneut versuchen, wenn der Bildschirm dazu auffordert."),
    no_light: w("Nicht bestätigt", "Näher ans Display, ohne direktes Sonnenlicht, und erneut versuchen."),
    moving_surround: w("Nicht bestätigt", "Bitte nur den Kopf drehen und erneut versuchen."),
    timeout: "Zeit abgelaufen",
    pass: w("Willkommen", "Sie können eintreten."),
    idle: w("Hallo", "Knopf drücken oder hierher schauen, um zu beginnen."),
    lockout: w("Zu viele Versuche", "Bitte warten oder das Personal fragen."),
    wait_min: ("Erneut in ", " min ", " s"),
    wait_s: ("Erneut in ", " s"),
    camera_missing: w(
        "Keine Kamera",
        "Diese Tür kann gerade keine Gesichter prüfen. Bitte das Personal fragen.",
    ),
    models_missing: w(
        "Nicht bereit",
        "Diese Tür kann gerade keine Gesichter prüfen. Bitte das Personal fragen.",
    ),
    out_of_order: w(
        "Außer Betrieb",
        "Diese Tür kann gerade keine Gesichter prüfen. Bitte das Personal fragen.",
    ),
};

const FR: Table = Table {
    look_at_camera: "Regardez la caméra",
    come_closer: "Approchez-vous",
    centre_face: "Placez votre visage dans le cadre",
    move_nose: "Tournez la tête : le nez dans le carré",
    hold_still: "Ne bougez plus",
    multiple_faces: w("Plusieurs visages", "Une personne à la fois, s'il vous plaît. Les autres s'écartent."),
    face_lost: w("Visage perdu", "Restez devant la caméra jusqu'à la fin de la vérification."),
    face_timeout: w("Personne en vue", "Placez-vous devant l'écran et regardez la caméra."),
    area_timeout: w("Visage hors du cadre", "Approchez-vous et gardez le visage dans le cadre blanc."),
    nose_timeout: w(
        "Carré non atteint",
        "Tournez lentement la tête jusqu'à ce que le nez soit dans le carré.",
    ),
    left_area: w("Sorti du cadre", "Gardez le visage dans le cadre blanc pendant que vous tournez."),
    turned_away: w("Mauvais sens", "Tournez la tête vers le carré jaune, pas dans l'autre sens."),
    no_rotation: w("Tête immobile", "Réessayez face à la caméra : tournez la tête, pas le corps."),
    flat_motion: w("Non vérifié", "Réessayez face à la caméra, avec une bonne lumière."),
    jerky_path: w("Trop rapide", "Réessayez en bougeant la tête lentement et sans à-coups."),
    incomplete: w("Vérification inachevée", "Veuillez réessayer."),
    camera_error: w("Problème de caméra", "Réessayez dans un instant ou demandez de l'aide au personnel."),
    cancelled: w("Vérification annulée", "Réessayez quand l'écran vous le demande."),
    no_light: w("Non vérifié", "Approchez-vous de l'écran, hors du soleil direct, et réessayez."),
    moving_surround: w("Non vérifié", "Tournez seulement la tête, puis réessayez."),
    timeout: "Temps écoulé",
    pass: w("Bienvenue", "Vous pouvez entrer."),
    idle: w("Bonjour", "Appuyez sur le bouton ou regardez ici pour commencer."),
    lockout: w("Trop d'essais", "Veuillez patienter ou demander de l'aide au personnel."),
    wait_min: ("Réessayez dans ", " min ", " s"),
    wait_s: ("Réessayez dans ", " s"),
    camera_missing: w(
        "Caméra introuvable",
        "Cette porte ne peut pas vérifier les visages. Demandez de l'aide au personnel.",
    ),
    models_missing: w(
        "Pas prêt",
        "Cette porte ne peut pas vérifier les visages. Demandez de l'aide au personnel.",
    ),
    out_of_order: w(
        "Hors service",
        "Cette porte ne peut pas vérifier les visages. Demandez de l'aide au personnel.",
    ),
};

const ES: Table = Table {
    look_at_camera: "Mire a la cámara",
    come_closer: "Acérquese",
    centre_face: "Ponga la cara en el marco",
    move_nose: "Gire la cabeza: la nariz al cuadrado",
    hold_still: "No se mueva",
    multiple_faces: w("Más de una cara", "Una persona cada vez, por favor. Los demás, fuera de la imagen."),
    face_lost: w("Cara perdida", "Quédese delante de la cámara hasta que termine la comprobación."),
    face_timeout: w("No le vemos", "Póngase delante de la pantalla y mire a la cámara."),
    area_timeout: w("Cara fuera del marco", "Acérquese y mantenga la cara dentro del marco blanco."),
    nose_timeout: w(
        "Cuadrado no alcanzado",
        "Gire la cabeza despacio hasta que la nariz esté en el cuadrado.",
    ),
    left_area: w("Salió del marco", "Mantenga la cara dentro del marco blanco mientras gira."),
    turned_away: w("Dirección contraria", "Gire la cabeza hacia el cuadrado amarillo, no al revés."),
    no_rotation: w(
        "Sin giro de cabeza",
        "Inténtelo de nuevo mirando a la cámara: gire la cabeza, no el cuerpo.",
    ),
    flat_motion: w("No verificado", "Inténtelo de nuevo mirando a la cámara, con buena luz."),
    jerky_path: w("Demasiado rápido", "Inténtelo de nuevo moviendo la cabeza despacio y sin saltos."),
    incomplete: w("Comprobación sin terminar", "Inténtelo de nuevo, por favor."),
    camera_error: w("Problema de cámara", "Inténtelo de nuevo en un momento o pida ayuda al personal."),
    cancelled: w("Comprobación cancelada", "Inténtelo de nuevo cuando la pantalla se lo pida."),
    no_light: w("No verificado", "Acérquese a la pantalla, sin sol directo, e inténtelo de nuevo."),
    moving_surround: w("No verificado", "Gire solo la cabeza e inténtelo de nuevo."),
    timeout: "Se acabó el tiempo",
    pass: w("Bienvenido", "Puede pasar."),
    idle: w("Hola", "Pulse el botón o mire aquí para empezar."),
    lockout: w("Demasiados intentos", "Espere, o pida ayuda al personal."),
    wait_min: ("Inténtelo en ", " min ", " s"),
    wait_s: ("Inténtelo en ", " s"),
    camera_missing: w("Sin cámara", "Esta puerta no puede comprobar caras ahora. Pida ayuda al personal."),
    models_missing: w("No está listo", "Esta puerta no puede comprobar caras ahora. Pida ayuda al personal."),
    out_of_order: w(
        "Fuera de servicio",
        "Esta puerta no puede comprobar caras ahora. Pida ayuda al personal.",
    ),
};

fn table(lang: Language) -> &'static Table {
    match lang {
        Language::En => &EN,
        Language::De => &DE,
        Language::Fr => &FR,
        Language::Es => &ES,
    }
}

/// What the visitor does next during a challenge.
pub fn instruction(lang: Language, p: Prompt) -> &'static str {
    let t = table(lang);
    match p {
        Prompt::LookAtCamera => t.look_at_camera,
        Prompt::ComeCloser => t.come_closer,
        Prompt::CentreFace => t.centre_face,
        Prompt::MoveNose => t.move_nose,
        Prompt::HoldStill => t.hold_still,
    }
}

/// Why a check failed and what to try, in the visitor's words.
pub fn failure(lang: Language, reason: Reason) -> Wording {
    let t = table(lang);
    match reason {
        Reason::MultipleFaces => t.multiple_faces,
        Reason::FaceLost => t.face_lost,
        Reason::FaceTimeout => t.face_timeout,
        Reason::AreaTimeout => t.area_timeout,
        Reason::NoseTimeout => t.nose_timeout,
        Reason::LeftArea => t.left_area,
        Reason::TurnedAway => t.turned_away,
        Reason::NoRotation | Reason::LayoutUnchanged => t.no_rotation,
        Reason::FlatMotion => t.flat_motion,
        Reason::JerkyPath => t.jerky_path,
        Reason::Incomplete => t.incomplete,
        Reason::CameraError => t.camera_error,
        Reason::Cancelled => t.cancelled,
        Reason::NoLightResponse => t.no_light,
        Reason::MovingSurround => t.moving_surround,
    }
}

/// The headline of a timeout screen (the advice comes from [`failure`]).
pub fn timeout(lang: Language) -> &'static str {
    table(lang).timeout
}

/// The pass screen.
pub fn pass(lang: Language) -> Wording {
    table(lang).pass
}

/// The idle screen.
pub fn idle(lang: Language) -> Wording {
    table(lang).idle
}

/// The lockout screen's headline and advice; the remaining time goes between them.
pub fn lockout(lang: Language) -> Wording {
    table(lang).lockout
}

/// "Try again in 4 min 05 s" for the lockout screen.
pub fn wait_time(lang: Language, remaining_ms: u64) -> String {
    let t = table(lang);
    let s = remaining_ms.div_ceil(1000);
    if s >= 60 {
        let (a, b, c) = t.wait_min;
        format!("{a}{}{b}{:02}{c}", s / 60, s % 60)
    } else {
        format!("{}{s}{}", t.wait_s.0, t.wait_s.1)
    }
}

/// What an error screen says.
pub fn fault(lang: Language, f: &Fault) -> Wording {
    let t = table(lang);
    match f {
        Fault::CameraMissing => t.camera_missing,
        Fault::ModelsMissing => t.models_missing,
        Fault::Other(_) => t.out_of_order,
    }
}

/// Every phrase of a language (for the tests that check each one is worded and renders).
#[cfg(test)]
pub fn every_phrase(lang: Language) -> Vec<&'static str> {
    let t = table(lang);
    let words = |w: Wording| [w.headline, w.advice];
    let mut out = vec![t.look_at_camera, t.come_closer, t.centre_face, t.move_nose, t.hold_still, t.timeout];
    for w in [
        t.multiple_faces,
        t.face_lost,
        t.face_timeout,
        t.area_timeout,
        t.nose_timeout,
        t.left_area,
        t.turned_away,
        t.no_rotation,
        t.flat_motion,
        t.jerky_path,
        t.incomplete,
        t.camera_error,
        t.cancelled,
        t.no_light,
        t.moving_surround,
        t.pass,
        t.idle,
        t.lockout,
        t.camera_missing,
        t.models_missing,
        t.out_of_order,
    ] {
        out.extend(words(w));
    }
    out.extend([t.wait_min.0, t.wait_min.1, t.wait_min.2, t.wait_s.0, t.wait_s.1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_says_what_to_try_without_numbers_in_every_language() {
        for lang in Language::ALL {
            for r in Reason::ALL {
                let t = failure(lang, r);
                assert!(!t.headline.is_empty() && t.advice.ends_with('.'), "{lang:?} {r:?}");
                assert!(!t.advice.chars().any(|c| c.is_ascii_digit()), "{lang:?} {r:?} shows a number");
            }
        }
    }

    #[test]
    fn every_prompt_has_words_in_every_language_and_other_languages_translate() {
        for lang in Language::ALL {
            for p in Prompt::ALL {
                assert!(!instruction(lang, p).trim().is_empty(), "{lang:?} {p:?}");
            }
            assert!(every_phrase(lang).iter().all(|p| !p.is_empty()), "{lang:?}");
            if lang != Language::En {
                let (en, other) = (every_phrase(Language::En), every_phrase(lang));
                // All but the units of the lockout's wait time (the last five pieces).
                let words = en.len() - 5;
                let same: Vec<_> = en.iter().zip(&other).take(words).filter(|(a, b)| a == b).collect();
                assert!(same.is_empty(), "{lang:?} leaves English phrases untranslated: {same:?}");
            }
        }
    }

    #[test]
    fn wait_time_rounds_up_and_shows_minutes() {
        assert_eq!(wait_time(Language::En, 600_000), "Try again in 10 min 00 s");
        assert_eq!(wait_time(Language::En, 61_001), "Try again in 1 min 02 s");
        assert_eq!(wait_time(Language::En, 1), "Try again in 1 s");
        assert_eq!(wait_time(Language::De, 61_001), "Erneut in 1 min 02 s");
        assert_eq!(wait_time(Language::Es, 5_000), "Inténtelo en 5 s");
    }
}
