//! systemd's notify protocol (`Type=notify`, `WatchdogSec=`): one datagram per message to
//! the socket named by `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace).
//! Without the variable (not under systemd) every call does nothing.

use std::os::unix::net::UnixDatagram;

/// Where notifications go, if anywhere.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`; a malformed value is logged and ignored.
    pub fn from_env() -> Self {
        let Some(name) = std::env::var_os("NOTIFY_SOCKET") else { return Self { target: None } };
        match Self::connect(&name.to_string_lossy()) {
            Ok(t) => Self { target: Some(t) },
            Err(e) => {
                tracing::warn!(socket = ?name, error = %e, "NOTIFY_SOCKET unusable");
                Self { target: None }
            }
        }
    }

    fn connect(name: &str) -> std::io::Result<(UnixDatagram, std::os::unix::net::SocketAddr)> {
        use std::os::linux::net::SocketAddrExt;
        let addr = match name.strip_prefix('@') {
            Some(abstract_name) => std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?,
            None => std::os::unix::net::SocketAddr::from_pathname(name)?,
        };
        Ok((UnixDatagram::unbound()?, addr))
    }

    /// Sends one message (e.g. `READY=1`, `WATCHDOG=1`, `STOPPING=1`); failures are logged.
    pub fn send(&self, message: &str) {
        if let Some((sock, addr)) = &self.target
            && let Err(e) = sock.send_to_addr(message.as_bytes(), addr)
        {
            tracing::warn!(notification = %message, error = %e, "systemd notify failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_a_socket_named_by_path() {
        let path = std::env::temp_dir().join(format!("livegate-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier { target: Some(Notifier::connect(path.to_str().unwrap()).unwrap()) };
        n.send("READY=1");
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_nothing_fails() {
        Notifier { target: None }.send("WATCHDOG=1");
    }
}
