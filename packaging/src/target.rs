//! Build targets, named `platform-arch-format` (e.g. `linux-amd64-deb`): the
//! formats and architectures as types, each spelled in one place. Which
//! architectures a format builds is the format's own declaration
//! (`Packager::archs`).

use std::fmt;
use std::str::FromStr;

use outpost_manifest::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Deb,
    Rpm,
    Msi,
    Pkg,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Deb, Format::Rpm, Format::Msi, Format::Pkg];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Deb => "deb",
            Format::Rpm => "rpm",
            Format::Msi => "msi",
            Format::Pkg => "pkg",
        }
    }

    pub fn platform(self) -> Platform {
        match self {
            Format::Deb | Format::Rpm => Platform::Linux,
            Format::Msi => Platform::Windows,
            Format::Pkg => Platform::Macos,
        }
    }
}

impl serde::Serialize for Format {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl std::error::Error for UnknownFormat {}

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        write!(f, "unknown format `{}`; this omnipack builds: {}", self.0, known.join(", "))
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, UnknownFormat> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CPU architecture, spelled by each format in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    X86,
    /// One Mach-O with an x86_64 and an arm64 slice (macOS only).
    Universal2,
}

impl Arch {
    pub fn rust_triple(self, platform: Platform) -> &'static str {
        match (self, platform) {
            (Arch::X86_64, Platform::Linux) => "x86_64-unknown-linux-gnu",
            (Arch::X86_64, Platform::Windows) => "x86_64-pc-windows-gnu",
            (Arch::X86_64, Platform::Macos) => "x86_64-apple-darwin",
            (Arch::X86, Platform::Windows) => "i686-pc-windows-gnu",
            (Arch::X86, Platform::Linux) => "i686-unknown-linux-gnu",
            (Arch::X86, Platform::Macos) => "i686-apple-darwin",
            // cargo-zigbuild's pseudo-target: both slices, joined.
            (Arch::Universal2, _) => "universal2-apple-darwin",
        }
    }

    pub const ALL: [Arch; 3] = [Arch::X86_64, Arch::X86, Arch::Universal2];

    /// The architecture `format`'s tools call `word`, if any.
    pub fn from_word(format: Format, word: &str) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.word(format) == word)
    }

    /// The architecture as the format's own tools name it.
    pub fn word(self, format: Format) -> &'static str {
        match (self, format) {
            (Arch::X86_64, Format::Deb) => "amd64",
            (Arch::X86_64, Format::Rpm) => "x86_64",
            (Arch::X86_64, Format::Msi) => "x64",
            (Arch::X86, Format::Msi) => "x86",
            (Arch::X86, Format::Deb) => "i386",
            (Arch::X86, Format::Rpm) => "i686",
            (Arch::X86_64, Format::Pkg) => "x86_64",
            (Arch::X86, Format::Pkg) => "i386",
            (Arch::Universal2, _) => "universal2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub platform: Platform,
    pub arch: Arch,
    pub format: Format,
}

impl Target {
    pub fn new(format: Format, arch: Arch) -> Target {
        Target {
            platform: format.platform(),
            arch,
            format,
        }
    }

    pub fn arch_word(&self) -> &'static str {
        self.arch.word(self.format)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.platform, self.arch_word(), self.format)
    }
}
