//! Link-time choices that depend on this machine's toolchain, each used only when a probe
//! program linked with it by the same rustc runs here.
//!
//! - Packed relative relocations (DT_RELR) shrink a position-independent binary's relocation
//!   table from about 580 KB to a few KB: a smaller file, and fewer pages touched at start.
//!   They need binutils 2.38 or lld, and glibc 2.36.
//! - In release builds, `scripts/startup.order` (made by `scripts/startup-order.py`) lists the
//!   functions start-up runs; lld places them together. Start-up then maps a few hundred KB
//!   of code instead of touching most 64 KB windows of `.text` (RSS at the prompt). Names the
//!   build no longer has are ignored.

use std::path::{Path, PathBuf};
use std::process::Command;

const ORDER: &str = "scripts/startup.order";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return;
    }
    let out = PathBuf::from(var("OUT_DIR"));
    let relr = ["-Wl,-z,pack-relative-relocs"];
    if links(&out, "relr", &relr) {
        println!("cargo:rustc-link-arg-bins={}", relr[0]);
    }
    // scripts/startup-order.py asks for the linker's map, to name the code that ran.
    println!("cargo:rerun-if-env-changed=LETTA_LINK_MAP");
    let map = var("LETTA_LINK_MAP");
    if !map.is_empty() {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join(ORDER);
    if var("PROFILE") == "release" && order.is_file() {
        let args = [
            format!("-Wl,--symbol-ordering-file={}", order.display()),
            "-Wl,--no-warn-symbol-ordering".to_string(),
        ];
        if links(&out, "order", &args) {
            for a in args {
                println!("cargo:rustc-link-arg-bins={a}");
            }
        }
    }
}

/// Whether a small program linked by this rustc with `args` builds and runs.
fn links<S: AsRef<str>>(dir: &Path, name: &str, args: &[S]) -> bool {
    let src = dir.join(format!("probe_{name}.rs"));
    let exe = dir.join(format!("probe_{name}"));
    // A pointer in initialised data: the binary has a relative relocation.
    let program = "static X: u8 = 7; static P: &u8 = &X; fn main() { std::process::exit(i32::from(*P != 7)) }\n";
    if std::fs::write(&src, program).is_err() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut c = Command::new(rustc);
    c.arg("--edition=2021").arg("-o").arg(&exe).arg(&src);
    // Linked as the real build links: its linker and its flags (a chosen `-fuse-ld`).
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        c.arg("-C").arg(format!("linker={linker}"));
    }
    if let Ok(flags) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        c.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    for a in args {
        c.arg("-C").arg(format!("link-arg={}", a.as_ref()));
    }
    c.output().is_ok_and(|o| o.status.success())
        && Command::new(&exe).status().is_ok_and(|s| s.success())
}
