//! The V4L2 bindings for the target: the committed file for Linux x86-64 and aarch64
//! (`bindings/linux-<arch>.rs`, generated from Debian 12's kernel headers by
//! `tools/v4l2_bindings.sh`), otherwise bindgen on `wrapper.h` (needs libclang).
//! `LIVEGATE_V4L2_BINDGEN=1` runs bindgen on every target (what the check in CI compares
//! the committed files with).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=bindings");
    println!("cargo:rerun-if-env-changed=LIVEGATE_V4L2_BINDGEN");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("v4l2_bindings.rs");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let committed = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("bindings")
        .join(format!("{os}-{arch}.rs"));
    let forced = env::var_os("LIVEGATE_V4L2_BINDGEN").is_some_and(|v| !v.is_empty() && v != "0");
    if committed.exists() && !forced {
        std::fs::copy(&committed, &out)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", committed.display(), out.display()));
        return;
    }
    // bindgen panics (rather than failing) when it cannot load libclang: say what to do.
    let generated = std::panic::catch_unwind(|| bindgen::Builder::default().header("wrapper.h").generate());
    let Ok(Ok(bindings)) = generated else {
        panic!(
            "no pre-generated V4L2 bindings for {os}-{arch}, and bindgen could not generate them; \
             it needs libclang (Debian, Raspberry Pi OS: apt-get install libclang-dev)"
        );
    };
    bindings
        .write_to_file(&out)
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
