//! Raw V4L2 bindings (`linux/videodev2.h`), as bindgen generates them: see `build.rs`.
#![allow(clippy::all)]
#![allow(deref_nullptr)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(non_upper_case_globals)]

include!(concat!(env!("OUT_DIR"), "/v4l2_bindings.rs"));
