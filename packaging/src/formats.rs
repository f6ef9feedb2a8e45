//! The formats this omnipack builds: the one list. A new format is a module
//! implementing `Packager` and one line here.

use crate::packager::Packager;
use crate::target::Format;

pub static ALL: [&dyn Packager; 4] = [&crate::deb::DebPackager, &crate::rpm::RpmPackager, &crate::windows::MsiPackager, &crate::macos::PkgPackager];

pub fn packager(format: Format) -> &'static dyn Packager {
    ALL.iter().copied().find(|p| p.format() == format).expect("every Format has a packager in formats::ALL")
}
