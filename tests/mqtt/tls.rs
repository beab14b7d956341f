//! TLS against mosquitto with a test CA made by `openssl`: server auth, mTLS, and a wrong CA
//! refused with a clear error.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Livegate, Mosquitto, Sub, config, keygen, scratch};
use crate::harness::{MQTT, require};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed CA `<name>.crt` / `<name>.key` (CA:TRUE, as rustls/webpki require).
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// A leaf `<name>.crt` / `<name>.key` signed by `ca`, with the given extensions.
fn make_leaf(dir: &Path, ca: &str, name: &str, ext: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.crt"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
    // mosquitto drops to its own user when started as root: the key must be readable.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(format!("{name}.key")), std::fs::Permissions::from_mode(0o644))
        .unwrap();
}

fn pki(dir: &Path) {
    make_ca(dir, "ca");
    make_ca(dir, "other-ca");
    make_leaf(
        dir,
        "ca",
        "server",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    make_leaf(dir, "ca", "client", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
}

fn tls_listener(dir: &Path, require_cert: bool) -> String {
    let d = dir.display();
    format!(
        "listener {{port}} 127.0.0.1\ncafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n\
         require_certificate {require_cert}\n"
    )
}

/// A broker with a plain listener (for the test's own subscriber) and a TLS one for livegate.
fn broker(dir: &Path, require_cert: bool) -> (Mosquitto, u16) {
    let tls_port = crate::harness::free_port();
    let conf = tls_listener(dir, require_cert).replace("{port}", &tls_port.to_string());
    let b = Mosquitto::start(dir, &conf);
    (b, tls_port)
}

fn online(port: u16) -> Sub {
    Sub::start(port, &["livegate/t1/availability"], None, &[])
}

#[test]
fn tls_with_a_test_ca_connects() {
    require!(MQTT, &["openssl"]);
    let dir = scratch("tls");
    pki(&dir);
    keygen(&dir);
    let (b, tls_port) = broker(&dir, false);
    let sub = online(b.port);
    let extra = format!("ca_file = \"{}/ca.crt\"", dir.display());
    let svc = Livegate::start(&dir, &config(&dir, &format!("mqtts://localhost:{tls_port}"), &extra));
    sub.wait_for("/availability", |p| p == "online", Duration::from_secs(30));
    drop(svc);
}

#[test]
fn mutual_tls_with_a_client_certificate_connects() {
    require!(MQTT, &["openssl"]);
    let dir = scratch("mtls");
    pki(&dir);
    keygen(&dir);
    let (b, tls_port) = broker(&dir, true);
    let sub = online(b.port);
    let d = dir.display();
    let extra = format!(
        "ca_file = \"{d}/ca.crt\"\nclient_cert_file = \"{d}/client.crt\"\nclient_key_file = \"{d}/client.key\""
    );
    let _svc = Livegate::start(&dir, &config(&dir, &format!("mqtts://localhost:{tls_port}"), &extra));
    sub.wait_for("/availability", |p| p == "online", Duration::from_secs(30));
}

#[test]
fn a_wrong_ca_fails_with_a_clear_error_and_never_connects() {
    require!(MQTT, &["openssl"]);
    let dir = scratch("wrong-ca");
    pki(&dir);
    keygen(&dir);
    let (b, tls_port) = broker(&dir, false);
    let sub = online(b.port);
    let extra = format!("ca_file = \"{}/other-ca.crt\"", dir.display());
    let mut svc = Livegate::start(&dir, &config(&dir, &format!("mqtts://localhost:{tls_port}"), &extra));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !svc.log().contains("TLS with the broker failed") {
        assert!(std::time::Instant::now() < deadline, "no TLS error logged:\n{}", svc.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = svc.log();
    assert!(log.contains("UnknownIssuer") || log.contains("certificate"), "{log}");
    assert!(sub.collect("/availability", Duration::from_secs(2)).is_empty(), "must not come online");
    assert!(svc.is_running(), "keeps retrying rather than dying");
}

#[test]
fn an_unreadable_client_key_is_named_at_start_up() {
    require!(MQTT, &["openssl"]);
    let dir = scratch("bad-key-file");
    keygen(&dir);
    let extra = format!(
        "ca_file = \"{d}/missing-ca.crt\"\nclient_cert_file = \"{d}/c.crt\"\nclient_key_file = \"{d}/c.key\"",
        d = dir.display()
    );
    let mut svc = Livegate::start(&dir, &config(&dir, "mqtts://localhost:1", &extra));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while svc.is_running() {
        assert!(std::time::Instant::now() < deadline, "service should refuse to start");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(svc.log().contains("missing-ca.crt"), "{}", svc.log());
}
