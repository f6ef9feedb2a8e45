//! The export msi.dll calls, and the msi.dll calls it makes.

use windows_sys::Win32::Foundation::{ERROR_INSTALL_FAILURE, ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::System::ApplicationInstallationAndServicing::{
    MsiCloseHandle, MsiCreateRecord, MsiGetPropertyW, MsiProcessMessage, MsiRecordSetStringW, MsiSetPropertyW, INSTALLMESSAGE_INFO, MSIHANDLE,
};

use crate::check::{formatted_literal, parse_rules, refusal, INVALID_PROPERTY, RULES_PROPERTY};
use crate::ActionError;

/// The custom action (type 1, immediate). `ERROR_SUCCESS` when it ran, refusals
/// or not; `ERROR_INSTALL_FAILURE` when it cannot read its rules or fails
/// in any other way (fail closed). A panic never crosses into msi.dll.
#[no_mangle]
pub extern "system" fn CheckAnswers(install: MSIHANDLE) -> u32 {
    let outcome = std::panic::catch_unwind(|| check_answers(install));
    let failure = match outcome {
        Ok(Ok(())) => return ERROR_SUCCESS,
        Ok(Err(why)) => why,
        Err(_) => ActionError::Panicked,
    };
    // The error is only read, and nothing is used after a panic here.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| log(install, &format!("CheckAnswers: {failure}"))));
    ERROR_INSTALL_FAILURE
}

fn check_answers(install: MSIHANDLE) -> Result<(), ActionError> {
    let json = property(install, RULES_PROPERTY)?;
    let rules = parse_rules(&String::from_utf16_lossy(&json))?;
    let mut refused = String::new();
    let mut count = 0;
    for rule in &rules {
        if let Some(entry) = refusal(rule, &property(install, &rule.property)?) {
            log(install, &format!("CheckAnswers: refused {} ({entry})", rule.name));
            refused.push_str(&entry);
            refused.push_str("; ");
            count += 1;
        }
    }
    log(install, &format!("CheckAnswers: {} properties checked, {count} refused", rules.len()));
    if !refused.is_empty() {
        let mut all = String::from_utf16_lossy(&property(install, INVALID_PROPERTY)?);
        all.push_str(&refused);
        set_property(install, INVALID_PROPERTY, &all)?;
    }
    Ok(())
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A property's value, any length (unset reads as empty).
fn property(install: MSIHANDLE, name: &str) -> Result<Vec<u16>, ActionError> {
    let name_w = wide(name);
    let mut buf = vec![0u16; 256];
    // The value may grow between the calls; a few rounds are plenty.
    for _ in 0..4 {
        let mut len = buf.len() as u32;
        // SAFETY: `name_w` is NUL-terminated; `buf` holds `len` units.
        let r = unsafe { MsiGetPropertyW(install, name_w.as_ptr(), buf.as_mut_ptr(), &mut len) };
        match r {
            ERROR_SUCCESS => {
                buf.truncate(len as usize);
                return Ok(buf);
            }
            // `len` is the value's length without the terminating NUL.
            ERROR_MORE_DATA => buf = vec![0u16; len as usize + 1],
            code => return Err(ActionError::Property { name: name.to_string(), code }),
        }
    }
    Err(ActionError::LengthKeptChanging { name: name.to_string() })
}

fn set_property(install: MSIHANDLE, name: &str, value: &str) -> Result<(), ActionError> {
    // SAFETY: both strings are NUL-terminated.
    let r = unsafe { MsiSetPropertyW(install, wide(name).as_ptr(), wide(value).as_ptr()) };
    if r == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(ActionError::SetProperty { name: name.to_string(), code: r })
    }
}

/// One line in the install log. Record fields are formatted too (`[x]`
/// would be replaced by property x, on Windows and under Wine), so the
/// text goes in with its brackets and braces escaped.
fn log(install: MSIHANDLE, text: &str) {
    // SAFETY: plain msi.dll calls on a record this function owns.
    unsafe {
        let record = MsiCreateRecord(1);
        if record == 0 {
            return;
        }
        MsiRecordSetStringW(record, 0, wide("[1]").as_ptr());
        MsiRecordSetStringW(record, 1, wide(&formatted_literal(text)).as_ptr());
        MsiProcessMessage(install, INSTALLMESSAGE_INFO, record);
        MsiCloseHandle(record);
    }
}
