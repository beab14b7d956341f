//! Processes for the MQTT integration tests: a real Debian `mosquitto` on a free loopback
//! port, the `livegate run` service, and `mosquitto_sub`/`mosquitto_pub` as a controller.
//! Every process is killed when its handle drops (also when a test panics).

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("livegate-mqtt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A loopback port nothing listens on, below the kernel's ephemeral range (32768–60999).
///
/// A port the kernel hands out for `:0` is an ephemeral port: between handing it out and the
/// broker binding it, a client socket may take it as its own source port, and a probe
/// connecting to a port that is its own source port connects to itself (TCP simultaneous
/// open), so "the port is open" was true before the broker listened: the subscriber started
/// next was refused and the test waited for messages that never came. Ports here come from a
/// per-process sequence in 20000–31999 that the kernel never uses as a source port.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20_000 + (std::process::id() % 400) * 30;
    loop {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(20_000 + (base - 20_000 + k) % 12_000).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Waits until something listens on `port` (`up`) or nothing does. A connection whose source
/// port is its destination port (TCP simultaneous open, possible where the kernel's source-port
/// range covers `port`) reached itself, not a listener, and does not count as open.
pub fn wait_port(port: u16, up: bool) {
    let listening =
        || TcpStream::connect(("127.0.0.1", port)).is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok());
    let deadline = Instant::now() + Duration::from_secs(10);
    while listening() != up {
        assert!(Instant::now() < deadline, "port {port} never became {}", if up { "open" } else { "closed" });
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A mosquitto broker; `persistence` keeps sessions across a restart (saved on SIGTERM).
pub struct Mosquitto {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    pub fn start(dir: &Path, listener_conf: &str) -> Self {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let data = dir.join("mosquitto-data/");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                 persistence_location {}\n{listener_conf}\n",
                data.display()
            ),
        )
        .unwrap();
        let mut m = Self { port, conf, child: None };
        m.restart();
        m
    }

    pub fn restart(&mut self) {
        let log = std::fs::File::create(self.conf.with_extension("log")).unwrap();
        let child =
            Command::new("mosquitto").arg("-c").arg(&self.conf).stderr(log).spawn().expect("mosquitto");
        self.child = Some(child);
        // Ready when it says so in its log (after opening its listeners) and the port answers;
        // a broker that exited (its port taken meanwhile) fails here with what it logged.
        let log = self.conf.with_extension("log");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains(" running") {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().unwrap());
            assert!(
                exited.is_none(),
                "mosquitto exited ({exited:?}):\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
            assert!(Instant::now() < deadline, "mosquitto on port {} never said it was running", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
        wait_port(self.port, true);
    }

    /// Stops the broker with SIGTERM (it saves its sessions) and waits until the port closes.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
            wait_port(self.port, false);
        }
    }
}

impl Drop for Mosquitto {
    // A failing test shows what the process logged (test output, not a log).
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.conf.with_extension("log")).unwrap_or_default();
            eprintln!("mosquitto on port {} logged:\n{log}", self.port);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The `livegate run` service.
pub struct Livegate {
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Livegate {
    pub fn start(dir: &Path, toml: &str) -> Self {
        let config = dir.join("livegate.toml");
        std::fs::write(&config, toml).unwrap();
        let mut s = Self { log: dir.join("livegate.log"), config, child: None };
        s.restart();
        s
    }

    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_livegate"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("run")
            .arg("-c")
            .arg(&self.config)
            // The config's `[log] level` decides what the tests read, not the caller's shell.
            .env_remove("RUST_LOG")
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGTERM, as systemd stops the service; waits for the exit and returns its status.
    pub fn sigterm(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        assert!(Command::new("kill").args(["-TERM", &c.id().to_string()]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn sigkill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().unwrap().is_none())
    }
}

impl Drop for Livegate {
    // A failing test shows what the process logged (test output, not a log).
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            let running = self.is_running();
            eprintln!("livegate run (still running: {running}) logged:\n{}", self.log());
        }
        self.sigkill();
    }
}

/// `mosquitto_sub -v` on some topics, lines delivered through a channel.
pub struct Sub {
    child: Child,
    lines: mpsc::Receiver<(String, String)>,
}

impl Sub {
    /// Subscribes at QoS 1; with `id`, as a persistent session (`-c`) that survives reconnects.
    /// Returns once the broker has acknowledged the subscription (a subscriber that could not
    /// connect is started again, twice at most, then the test fails with what it printed).
    pub fn start(port: u16, topics: &[&str], id: Option<&str>, extra: &[&str]) -> Self {
        let mut printed = String::new();
        for attempt in 0..3 {
            match Self::try_start(port, topics, id, extra) {
                Ok(sub) => return sub,
                Err(e) => printed.push_str(&e),
            }
            // A refused connection fails at once: give a broker that is still starting time.
            std::thread::sleep(Duration::from_millis(300 << attempt));
        }
        panic!("mosquitto_sub on port {port} never got its subscription acknowledged:\n{printed}");
    }

    fn try_start(port: u16, topics: &[&str], id: Option<&str>, extra: &[&str]) -> Result<Self, String> {
        // -d: the protocol exchange on stdout too, to see the SUBACK; line-buffered (stdbuf
        // execs it), or those lines would wait in a pipe buffer until it exits.
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", &port.to_string(), "-v", "-q", "1"]);
        if let Some(id) = id {
            cmd.args(["-c", "-i", id]);
        }
        for t in topics {
            cmd.args(["-t", t]);
        }
        cmd.args(extra);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("mosquitto_sub");
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let (debug_tx, debug) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Debug lines ("Client <id> received SUBACK", "Subscribed (mid: 1): 1"); every
                // message line starts with its topic.
                if line.starts_with("Client ") || line.starts_with("Subscribed (mid") {
                    if line.ends_with("received SUBACK") {
                        let _ = ready_tx.send(());
                    }
                    let _ = debug_tx.send(line);
                    continue;
                }
                let (t, p) = line.split_once(' ').unwrap_or((&line, ""));
                if tx.send((t.to_owned(), p.to_owned())).is_err() {
                    break;
                }
            }
        });
        let (err_tx, errors) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        if ready.recv_timeout(Duration::from_secs(10)).is_ok() {
            return Ok(Self { child, lines });
        }
        let _ = child.kill();
        let _ = child.wait();
        let said: Vec<String> = debug.try_iter().chain(errors.try_iter()).collect();
        Err(format!("  attempt: {}\n", said.join(" | ")))
    }

    /// The first message whose topic ends with `suffix` and whose payload matches `pred`.
    pub fn wait_for(&self, suffix: &str, pred: impl Fn(&str) -> bool, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((t, p)) if t.ends_with(suffix) && pred(&p) => return p,
                Ok(_) => {}
                Err(_) => panic!("no message on …{suffix} matching within {within:?}"),
            }
        }
    }

    /// Every message on `…suffix` that arrives within `window`.
    pub fn collect(&self, suffix: &str, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        while let Ok((t, p)) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if t.ends_with(suffix) {
                out.push(p);
            }
        }
        out
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mosquitto_pub` to the broker on `port`, at QoS 1 on `topic`; the caller adds the message.
pub fn mosquitto_pub(port: u16, topic: &str) -> Command {
    let mut c = Command::new("mosquitto_pub");
    c.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", topic]);
    c
}

/// Publishes one message at QoS 1.
pub fn publish(port: u16, topic: &str, payload: &str, extra: &[&str]) {
    let ok = mosquitto_pub(port, topic).args(["-m", payload]).args(extra).status().unwrap().success();
    assert!(ok, "mosquitto_pub to {topic} failed");
}

/// The service config for a test: replay camera on the recorded live session, state in `dir`.
pub fn config(dir: &Path, url: &str, extra_mqtt: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    format!(
        "[device]\nid = \"t1\"\n[camera]\nsource = \"replay\"\npath = \"{root}/tests/sessions/live_astronaut\"\n\
         [mqtt]\nurl = \"{url}\"\nspool_dir = \"{d}/spool\"\nreconnect_min_ms = 200\nreconnect_max_ms = 1000\n\
         keepalive_s = 5\n{extra_mqtt}\n[signing]\nkey_file = \"{d}/verdict.key\"\nseq_file = \"{d}/seq\"\n\
         [lockout]\nstate_file = \"{d}/lockout.json\"\n\
         [screen]\npath = \"{d}/screen\"\nwidth = 240\nheight = 240\n",
        d = dir.display()
    )
}

/// Runs `livegate keygen` into `dir` (key and seq) and returns the public key.
pub fn keygen(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_livegate"))
        .args(["keygen", "--out"])
        .arg(dir.join("verdict.key"))
        .arg("--seq")
        .arg(dir.join("seq"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Whether `program` is installed: an executable on `PATH`, or for `python3-venv` a Python
/// that can make the integrators' venv.
fn installed(program: &str) -> bool {
    if program == "python3-venv" {
        let probe =
            Command::new("python3").args(["-c", "import venv, ensurepip"]).stderr(Stdio::null()).status();
        return probe.is_ok_and(|s| s.success());
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

/// Why a test needing `programs` cannot run here: the first one not installed.
pub fn missing(programs: &[&str]) -> Option<String> {
    let m = programs.iter().find(|p| !installed(p))?;
    let how = "apt-get install mosquitto mosquitto-clients openssl python3-venv; .ci/run does";
    Some(format!("{m} is not installed ({how})"))
}

/// What every test here needs: the broker, and its clients as the controller.
pub const MQTT: &[&str] = &["mosquitto", "mosquitto_sub", "mosquitto_pub"];

/// Ends the calling test with one `SKIPPED` line when a program it needs is not installed;
/// fails it in CI, which installs them all ([`crate::common::skip`]).
macro_rules! require {
    ($($programs:expr),+ $(,)?) => {
        for programs in [$($programs),+] {
            if let Some(why) = $crate::harness::missing(programs) {
                $crate::common::skip($crate::common::in_ci(), &why);
                return;
            }
        }
    };
}
pub(crate) use require;

/// A Python with `cryptography` and `paho-mqtt` (tools/requirements-door.txt), for the
/// integrators' check and the reference door controller (a venv made once if needed).
pub fn python() -> PathBuf {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(|| {
        let venv = std::env::var_os("LIVEGATE_MQTT_VENV").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/livegate/venv-mqtt")
        });
        let py = venv.join("bin/python");
        let has = |py: &Path| {
            let mut probe = Command::new(py);
            probe.args(["-c", "import cryptography, paho.mqtt"]).stderr(Stdio::null());
            probe.status().is_ok_and(|s| s.success())
        };
        if !has(&py) {
            assert!(Command::new("python3").arg("-m").arg("venv").arg(&venv).status().unwrap().success());
            let pip = venv.join("bin/pip");
            let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/requirements-door.txt");
            let installed = Command::new(pip).args(["install", "-q", "-r"]).arg(requirements).status();
            assert!(installed.unwrap().success(), "pip install -r tools/requirements-door.txt");
        }
        py
    })
    .clone()
}

/// Verifies a verdict payload with `tools/verify_verdict.py` (the snippet of docs/integrators.md).
pub fn python_verifies(payload: &str, public_key: &str) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_verdict.py"))
        .arg(public_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(if out.status.success() { &out.stdout } else { &out.stderr }).into_owned();
    if out.status.success() { Ok(text) } else { Err(text) }
}
