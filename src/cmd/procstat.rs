//! What the kernel knows about this process, for `livegate bench` and `verify --peak-rss`: CPU time used, peak
//! resident set, time since start. Linux `/proc` and `clock_gettime`; `None` elsewhere.

// libc calls: `clock_gettime` and `sysconf`.
#![allow(unsafe_code)]

/// CPU time this process has used, ms (`CLOCK_PROCESS_CPUTIME_ID`). The machines we compare
/// on are shared, so the whole-frame bench counts the CPU a frame costs rather than the wall
/// time it happened to take while other processes ran; the peers are timed the same way.
pub fn cpu_ms() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable, aligned timespec that outlives the call, which writes
    // only it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &raw mut ts) };
    assert_eq!(rc, 0, "CLOCK_PROCESS_CPUTIME_ID is available on Linux");
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Peak resident set of this process so far (`VmHWM`), in MiB; `None` off Linux.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Milliseconds since this process started (`/proc/self/stat` start time against
/// `/proc/uptime`: 10 ms resolution); `None` off Linux.
pub fn ms_since_process_start() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; starttime is field 22 overall.
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    // SAFETY: `sysconf` takes no pointers and has no preconditions (an unknown name returns
    // -1, which `hz.max(1.0)` below absorbs).
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
    Some((uptime - ticks / hz.max(1.0)) * 1e3)
}
