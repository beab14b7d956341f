//! The two framebuffer ioctls, with the kernel's structs from `<linux/fb.h>`.

// `ioctl` through libc, with the kernel's structs.
#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd;

use super::fbdev::{Channel, FbGeometry};

const FBIOGET_VSCREENINFO: libc::c_ulong = 0x4600;
const FBIOGET_FSCREENINFO: libc::c_ulong = 0x4602;

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct FbBitfield {
    offset: u32,
    length: u32,
    msb_right: u32,
}

#[repr(C)]
#[derive(Default)]
struct FbVarScreeninfo {
    xres: u32,
    yres: u32,
    xres_virtual: u32,
    yres_virtual: u32,
    xoffset: u32,
    yoffset: u32,
    bits_per_pixel: u32,
    grayscale: u32,
    red: FbBitfield,
    green: FbBitfield,
    blue: FbBitfield,
    transp: FbBitfield,
    nonstd: u32,
    activate: u32,
    height: u32,
    width: u32,
    accel_flags: u32,
    // pixclock, margins, sync lengths, sync, vmode, rotate, colorspace
    timing: [u32; 11],
    reserved: [u32; 4],
}

#[repr(C)]
#[derive(Default)]
struct FbFixScreeninfo {
    id: [u8; 16],
    smem_start: libc::c_ulong,
    smem_len: u32,
    kind: u32,
    type_aux: u32,
    visual: u32,
    xpanstep: u16,
    ypanstep: u16,
    ywrapstep: u16,
    line_length: u32,
    mmio_start: libc::c_ulong,
    mmio_len: u32,
    accel: u32,
    capabilities: u16,
    reserved: [u16; 2],
}

/// Ask the kernel for the framebuffer's size, row stride and pixel bitfields.
pub fn query(file: &File) -> Result<FbGeometry, String> {
    let fd = file.as_raw_fd();
    let mut var = FbVarScreeninfo::default();
    let mut fix = FbFixScreeninfo::default();
    // SAFETY: `fd` is open for the call (borrowed from `file`); FBIOGET_VSCREENINFO writes one
    // `struct fb_var_screeninfo` through the pointer, and `var` is a `repr(C)` copy of it
    // (its size is tested), valid and writable for the call.
    let rv = unsafe { libc::ioctl(fd, FBIOGET_VSCREENINFO as _, &mut var as *mut FbVarScreeninfo) };
    if rv != 0 {
        return Err(format!(
            "not a framebuffer device (FBIOGET_VSCREENINFO: {})",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: as above: FBIOGET_FSCREENINFO writes one `struct fb_fix_screeninfo`, and `fix`
    // is a `repr(C)` copy of it (its size is tested), valid and writable for the call.
    let rv = unsafe { libc::ioctl(fd, FBIOGET_FSCREENINFO as _, &mut fix as *mut FbFixScreeninfo) };
    if rv != 0 {
        return Err(format!("FBIOGET_FSCREENINFO: {}", std::io::Error::last_os_error()));
    }
    let ch = |b: FbBitfield| Channel { offset: b.offset, length: b.length };
    Ok(FbGeometry {
        width: var.xres,
        height: var.yres,
        line_length: fix.line_length,
        bits_per_pixel: var.bits_per_pixel,
        red: ch(var.red),
        green: ch(var.green),
        blue: ch(var.blue),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_structs_have_the_kernels_sizes() {
        assert_eq!(std::mem::size_of::<FbVarScreeninfo>(), 160);
        let fix = if cfg!(target_pointer_width = "64") { 80 } else { 68 };
        assert_eq!(std::mem::size_of::<FbFixScreeninfo>(), fix);
    }

    #[test]
    fn a_regular_file_is_not_a_framebuffer() {
        let f = File::open("Cargo.toml").unwrap();
        assert!(query(&f).unwrap_err().contains("not a framebuffer"));
    }
}
