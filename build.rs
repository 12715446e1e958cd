// Records the toolchain version for `/metrics` (`system.node_version`) and
// embeds nothing else: the admin UI is embedded by `include_dir`-free code in src/ui.rs.
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=TESSERA_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
