//! GPIO (SPEC §7): an optional start button and an optional relay/LED pulse on `pass`.
//!
//! The logic is sans-IO and unit-tested: [`Debouncer`] turns sampled button levels into
//! presses, [`Pulse`] turns "a pass happened" into a one-shot output with a hold time that is
//! never latched (it is off at start-up, off after the hold, and nothing but a pass turns it
//! on; a broker reconnect or a restart can never open the door). The pins themselves are the
//! hardware seam: any embedded-hal 1.0 `InputPin`/`OutputPin`, which rppal's pins are on a Pi
//! and a recording fake is in the tests. [`Gpio::open`] returns a clear error off a Pi.

use embedded_hal::digital::{InputPin, OutputPin};
use serde::{Deserialize, Serialize};

/// The `[gpio]` config section. Pins are BCM numbers; a missing pin means "not fitted".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpioOptions {
    /// Start button (BCM pin), wired to ground with the internal pull-up unless `button_active_high`.
    pub button_pin: Option<u8>,
    /// The button drives the pin high when pressed (external pull-down) instead of low.
    pub button_active_high: bool,
    /// The level must be stable this long before a press counts.
    pub button_debounce_ms: u64,
    /// Relay or LED (BCM pin), pulsed on `pass`.
    pub relay_pin: Option<u8>,
    /// The relay board switches on a low level (many opto-isolated boards do).
    pub relay_active_low: bool,
    /// How long the relay stays on after a `pass`.
    pub relay_hold_ms: u64,
}

impl Default for GpioOptions {
    fn default() -> Self {
        Self {
            button_pin: None,
            button_active_high: false,
            button_debounce_ms: 30,
            relay_pin: None,
            relay_active_low: false,
            relay_hold_ms: 3_000,
        }
    }
}

impl GpioOptions {
    /// Checks the values without touching hardware.
    ///
    /// # Errors
    /// A message naming the bad key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, pin) in [("button_pin", self.button_pin), ("relay_pin", self.relay_pin)] {
            if pin.is_some_and(|p| p > 27) {
                return Err(format!("{key} must be a BCM GPIO number 0..=27"));
            }
        }
        if self.button_pin.is_some() && self.button_pin == self.relay_pin {
            return Err("button_pin and relay_pin must be different pins".into());
        }
        if !(50..=60_000).contains(&self.relay_hold_ms) {
            return Err("relay_hold_ms must be between 50 and 60000".into());
        }
        if self.button_debounce_ms > 1_000 {
            return Err("button_debounce_ms must be at most 1000".into());
        }
        Ok(())
    }
}

/// Errors of the GPIO seam.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// The GPIO chip cannot be opened (not a Pi, or no access to /dev/gpiomem).
    #[error("cannot open GPIO (is this a Raspberry Pi, and is the service user in the `gpio` group?): {0}")]
    Open(String),
    /// A pin cannot be claimed.
    #[error("cannot use GPIO pin {pin}: {reason}")]
    Pin { pin: u8, reason: String },
}

/// Turns sampled levels of a bouncing contact into clean presses.
#[derive(Debug, Clone)]
pub struct Debouncer {
    debounce_ms: u64,
    stable: bool,
    candidate: bool,
    since_ms: u64,
}

impl Debouncer {
    /// Starts released.
    pub fn new(debounce_ms: u64) -> Self {
        Self { debounce_ms, stable: false, candidate: false, since_ms: 0 }
    }

    /// Feeds one sample (`pressed` already corrected for the wiring's polarity); returns true
    /// exactly once per press, when the pressed level has been stable for the debounce time.
    pub fn sample(&mut self, pressed: bool, t_ms: u64) -> bool {
        if pressed != self.candidate {
            self.candidate = pressed;
            self.since_ms = t_ms;
        }
        if self.candidate != self.stable && t_ms.saturating_sub(self.since_ms) >= self.debounce_ms {
            self.stable = self.candidate;
            return self.stable;
        }
        false
    }
}

/// A one-shot output pulse: on for `hold_ms` after each `pass`, otherwise off.
#[derive(Debug, Clone)]
pub struct Pulse {
    hold_ms: u64,
    until_ms: Option<u64>,
}

impl Pulse {
    /// Off until the first pass.
    pub fn new(hold_ms: u64) -> Self {
        Self { hold_ms, until_ms: None }
    }

    /// A `pass` verdict at `t_ms`: (re)starts the hold.
    pub fn trigger(&mut self, t_ms: u64) {
        self.until_ms = Some(t_ms + self.hold_ms);
    }

    /// Whether the output should be on at `t_ms`. Once the hold is over it stays off.
    pub fn is_on(&mut self, t_ms: u64) -> bool {
        match self.until_ms {
            Some(until) if t_ms < until => true,
            _ => {
                self.until_ms = None;
                false
            }
        }
    }
}

/// The fitted pins and their logic. `poll` is called every few milliseconds by the service.
#[derive(Debug)]
pub struct Gpio<B, R> {
    button: Option<(B, Debouncer)>,
    relay: Option<(R, Pulse)>,
    button_active_high: bool,
    relay_active_low: bool,
    /// BCM numbers, for error messages.
    pins: (u8, u8),
}

impl<B: InputPin, R: OutputPin> Gpio<B, R> {
    /// Wires the logic to pins; the relay is driven off at once.
    ///
    /// # Errors
    /// When the relay pin cannot be driven.
    pub fn new(button: Option<B>, relay: Option<R>, options: &GpioOptions) -> Result<Self, GpioError> {
        let mut gpio = Self {
            button: button.map(|b| (b, Debouncer::new(options.button_debounce_ms))),
            relay: relay.map(|r| (r, Pulse::new(options.relay_hold_ms))),
            button_active_high: options.button_active_high,
            relay_active_low: options.relay_active_low,
            pins: (options.button_pin.unwrap_or(0), options.relay_pin.unwrap_or(0)),
        };
        gpio.drive(false)?;
        Ok(gpio)
    }

    /// A `pass` verdict: start the relay pulse.
    pub fn on_pass(&mut self, t_ms: u64) {
        if let Some((_, pulse)) = self.relay.as_mut() {
            pulse.trigger(t_ms);
        }
    }

    /// Samples the button and updates the relay; returns true when the button was pressed.
    ///
    /// # Errors
    /// When a pin cannot be read or driven.
    pub fn poll(&mut self, t_ms: u64) -> Result<bool, GpioError> {
        let on = self.relay.as_mut().is_some_and(|(_, p)| p.is_on(t_ms));
        self.drive(on)?;
        let Some((pin, debouncer)) = self.button.as_mut() else { return Ok(false) };
        let high =
            pin.is_high().map_err(|e| GpioError::Pin { pin: self.pins.0, reason: format!("{e:?}") })?;
        Ok(debouncer.sample(high == self.button_active_high, t_ms))
    }

    fn drive(&mut self, on: bool) -> Result<(), GpioError> {
        let Some((pin, _)) = self.relay.as_mut() else { return Ok(()) };
        let high = on != self.relay_active_low;
        let r = if high { pin.set_high() } else { pin.set_low() };
        r.map_err(|e| GpioError::Pin { pin: self.pins.1, reason: format!("{e:?}") })
    }
}

/// How often the `gpio` thread samples the button and updates the relay.
pub const POLL_MS: u64 = 5;

/// The running `gpio` thread: tell it about passes, stop it at shutdown (relay off).
pub struct GpioThread {
    passes: std::sync::mpsc::SyncSender<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl GpioThread {
    /// Starts polling `gpio` every [`POLL_MS`]; `on_press` is called (on the `gpio` thread)
    /// for each debounced press and must not block.
    ///
    /// # Errors
    /// When the OS cannot start a thread.
    pub fn spawn<B, R>(mut gpio: Gpio<B, R>, on_press: impl Fn() + Send + 'static) -> std::io::Result<Self>
    where
        B: InputPin + Send + 'static,
        R: OutputPin + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let (passes, rx) = std::sync::mpsc::sync_channel::<()>(4);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new().name("gpio".into()).spawn(move || {
            let epoch = std::time::Instant::now();
            let mut last_error = String::new();
            while !stopping.load(Ordering::Relaxed) {
                let t = epoch.elapsed().as_millis() as u64;
                while rx.try_recv().is_ok() {
                    gpio.on_pass(t);
                }
                match gpio.poll(t) {
                    Ok(true) => on_press(),
                    Ok(false) => last_error.clear(),
                    Err(e) => {
                        let msg = e.to_string();
                        if msg != last_error {
                            tracing::warn!(error = %msg, "gpio poll failed");
                            last_error = msg;
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(POLL_MS));
            }
            if let Err(e) = gpio.drive(false) {
                tracing::error!(error = %e, "cannot switch the relay off at shutdown");
            }
        })?;
        Ok(Self { passes, stop, thread })
    }

    /// A `pass` verdict: pulse the relay (dropped if four are already waiting).
    pub fn pass(&self) {
        let _ = self.passes.try_send(());
    }

    /// Stops the thread (the relay is switched off) and waits for it.
    pub fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if self.thread.join().is_err() {
            tracing::error!("the gpio thread panicked");
        }
    }
}

/// The Pi's pins through rppal.
pub type PiGpio = Gpio<rppal::gpio::InputPin, rppal::gpio::OutputPin>;

impl PiGpio {
    /// Claims the configured pins on a Raspberry Pi; `Ok(None)` when none is configured.
    ///
    /// # Errors
    /// [`GpioError`] off a Pi, without access to the GPIO chip, or when a pin is busy.
    pub fn open(options: &GpioOptions) -> Result<Option<Self>, GpioError> {
        if options.button_pin.is_none() && options.relay_pin.is_none() {
            return Ok(None);
        }
        let chip = rppal::gpio::Gpio::new().map_err(|e| GpioError::Open(e.to_string()))?;
        let claim = |pin: u8| chip.get(pin).map_err(|e| GpioError::Pin { pin, reason: e.to_string() });
        let button = match options.button_pin {
            Some(p) if options.button_active_high => Some(claim(p)?.into_input_pulldown()),
            Some(p) => Some(claim(p)?.into_input_pullup()),
            None => None,
        };
        // Claimed already at the "off" level, so the relay never clicks at start-up.
        let relay = match options.relay_pin {
            Some(p) if options.relay_active_low => Some(claim(p)?.into_output_high()),
            Some(p) => Some(claim(p)?.into_output_low()),
            None => None,
        };
        Self::new(button, relay, options).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use embedded_hal::digital::{ErrorType, InputPin, OutputPin};

    use super::*;

    /// A pin whose level the test sets (input) or reads back with its history (output).
    #[derive(Clone, Default)]
    struct FakePin(Arc<Mutex<Vec<bool>>>);

    impl FakePin {
        fn level(&self) -> bool {
            self.0.lock().unwrap().last().copied().unwrap_or(false)
        }
        fn set(&self, high: bool) {
            self.0.lock().unwrap().push(high);
        }
    }
    impl ErrorType for FakePin {
        type Error = Infallible;
    }
    impl InputPin for FakePin {
        fn is_high(&mut self) -> Result<bool, Infallible> {
            Ok(self.level())
        }
        fn is_low(&mut self) -> Result<bool, Infallible> {
            Ok(!self.level())
        }
    }
    impl OutputPin for FakePin {
        fn set_low(&mut self) -> Result<(), Infallible> {
            self.set(false);
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), Infallible> {
            self.set(true);
            Ok(())
        }
    }

    fn fitted(options: &GpioOptions) -> (Gpio<FakePin, FakePin>, FakePin, FakePin) {
        let (button, relay) = (FakePin::default(), FakePin::default());
        button.set(true); // pull-up: released reads high
        let gpio = Gpio::new(Some(button.clone()), Some(relay.clone()), options).unwrap();
        (gpio, button, relay)
    }

    #[test]
    fn a_bouncing_press_counts_once() {
        let mut d = Debouncer::new(30);
        let levels =
            [(0, true), (2, false), (4, true), (6, false), (10, true), (12, true), (45, true), (60, true)];
        let presses: Vec<u64> = levels.iter().filter(|&&(t, p)| d.sample(p, t)).map(|&(t, _)| t).collect();
        assert_eq!(presses, vec![45], "one press, after 30 ms of stable contact");
    }

    #[test]
    fn a_glitch_shorter_than_the_debounce_time_is_no_press() {
        let mut d = Debouncer::new(30);
        assert!(!(0..20).any(|t| d.sample(true, t)));
        assert!(!(20..200).any(|t| d.sample(false, t)));
    }

    #[test]
    fn holding_the_button_is_one_press_and_releasing_allows_the_next() {
        let mut d = Debouncer::new(10);
        let first = (0..500).filter(|&t| d.sample(true, t)).count();
        assert!(!(500..600).any(|t| d.sample(false, t)));
        let second = (600..700).filter(|&t| d.sample(true, t)).count();
        assert_eq!((first, second), (1, 1));
    }

    #[test]
    fn the_relay_pulses_for_its_hold_time_and_is_never_latched() {
        let mut p = Pulse::new(3_000);
        assert!(!p.is_on(0), "off at start-up");
        p.trigger(1_000);
        assert!(p.is_on(1_000) && p.is_on(3_999));
        assert!(!p.is_on(4_000));
        assert!(!p.is_on(3_500), "once over, a late poll does not turn it back on");
    }

    #[test]
    fn the_relay_is_driven_off_at_start_up_and_follows_a_pass() {
        let options = GpioOptions { relay_hold_ms: 100, ..GpioOptions::default() };
        let (mut gpio, _button, relay) = fitted(&options);
        assert!(!relay.level(), "driven off before anything happens");
        gpio.poll(0).unwrap();
        gpio.on_pass(10);
        gpio.poll(50).unwrap();
        assert!(relay.level());
        gpio.poll(110).unwrap();
        assert!(!relay.level());
        assert!(!relay.0.lock().unwrap()[..2].contains(&true), "never on before the pass");
    }

    #[test]
    fn an_active_low_relay_board_gets_inverted_levels() {
        let options = GpioOptions { relay_active_low: true, relay_hold_ms: 100, ..GpioOptions::default() };
        let (mut gpio, _button, relay) = fitted(&options);
        assert!(relay.level(), "high is off on an active-low board");
        gpio.on_pass(0);
        gpio.poll(1).unwrap();
        assert!(!relay.level());
    }

    #[test]
    fn a_press_to_ground_is_reported_once() {
        let (mut gpio, button, _relay) = fitted(&GpioOptions::default());
        assert!(!(0..100).any(|t| gpio.poll(t).unwrap()), "released (high) is no press");
        button.set(false);
        assert_eq!((100..300).filter(|&t| gpio.poll(t).unwrap()).count(), 1);
    }

    #[test]
    fn off_a_pi_opening_configured_pins_is_a_clear_error() {
        let options = GpioOptions { button_pin: Some(17), ..GpioOptions::default() };
        if std::path::Path::new("/dev/gpiomem").exists() {
            return; // on a Pi this would claim real pins
        }
        let err = PiGpio::open(&options).unwrap_err().to_string();
        assert!(err.contains("gpio"), "{err}");
        assert!(PiGpio::open(&GpioOptions::default()).unwrap().is_none(), "nothing fitted, nothing opened");
    }

    #[test]
    fn the_gpio_thread_reports_presses_and_pulses_the_relay_only_after_a_pass() {
        let options = GpioOptions { relay_hold_ms: 100, ..GpioOptions::default() };
        let (gpio, button, relay) = fitted(&options);
        let presses = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = presses.clone();
        let thread = GpioThread::spawn(gpio, move || {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        let wait_for = |what: &str, f: &dyn Fn() -> bool| {
            let t0 = std::time::Instant::now();
            while !f() {
                assert!(t0.elapsed().as_secs() < 10, "{what} within 10 s");
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!relay.level(), "off at start-up");
        button.set(false); // pressed (pull-up)
        wait_for("a press", &|| presses.load(std::sync::atomic::Ordering::Relaxed) == 1);
        button.set(true);
        assert!(!relay.level(), "a press alone never opens the door");
        thread.pass();
        wait_for("the relay on", &|| relay.level());
        wait_for("the relay off after its hold", &|| !relay.level());
        thread.pass();
        wait_for("the relay on again", &|| relay.level());
        thread.stop();
        assert!(!relay.level(), "stopping switches the relay off");
        assert_eq!(presses.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
