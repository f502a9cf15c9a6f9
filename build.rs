//! Link-time choices that depend on this machine's toolchain.
//!
//! Packed relative relocations (DT_RELR) shrink the relocation table of a position-independent
//! binary from about 580 KB to a few KB: a smaller file, and fewer pages read and written
//! when it starts. They need a linker and a C library that know them (binutils 2.38, glibc
//! 2.36), so they are used only when a probe program linked with them runs here.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return;
    }
    let out = var("OUT_DIR");
    if out.is_empty() {
        return;
    }
    if relr_works(Path::new(&out)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Link a small PIE with packed relocations and run it.
fn relr_works(dir: &Path) -> bool {
    let src = dir.join("relr_probe.c");
    let exe = dir.join("relr_probe");
    // A pointer in initialised data: the binary has a relative relocation to pack.
    let program = "static int x; int *p = &x; int main(void) { return p == &x ? 0 : 1; }\n";
    if std::fs::write(&src, program).is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let linked = Command::new(cc)
        .args(["-fPIE", "-pie", "-Wl,-z,pack-relative-relocs", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .is_ok_and(|o| o.status.success());
    linked && Command::new(&exe).status().is_ok_and(|s| s.success())
}
