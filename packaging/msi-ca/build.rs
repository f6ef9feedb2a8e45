//! On 32-bit Windows an `extern "system"` export is decorated (`CheckAnswers@4`);
//! Windows Installer looks the entry point up by its plain name, so the
//! decoration is stripped when linking.

fn main() {
    if std::env::var("TARGET").as_deref() == Ok("i686-pc-windows-gnu") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--kill-at");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
