//! msiexec command lines, quoted correctly for cmd.exe and for PowerShell.

/// A property assignment for an msiexec command line: values with spaces
/// or quotes are quoted, inner quotes doubled (msiexec's own rule).
pub fn property(name: &str, value: &str) -> String {
    if value.is_empty() || value.contains([' ', '"', '\t']) {
        format!("{name}=\"{}\"", value.replace('"', "\"\""))
    } else {
        format!("{name}={value}")
    }
}

/// An msiexec argument string (what cmd passes and what PowerShell's
/// Start-Process -ArgumentList receives as one string).
pub fn msiexec_args(msi: &str, mst: Option<&str>, properties: &[(String, String)], log: &str) -> String {
    let mut parts = vec![format!("/i \"{msi}\"")];
    if let Some(t) = mst {
        parts.push(format!("TRANSFORMS=\"{t}\""));
    }
    parts.extend(properties.iter().map(|(n, v)| property(n, v)));
    parts.push("/qn".into());
    parts.push(format!("/l*v \"{log}\""));
    parts.join(" ")
}

pub fn cmd(args: &str) -> String {
    format!("msiexec.exe {args}")
}

/// PowerShell: one single-quoted argument string (nothing inside is
/// expanded or split by PowerShell), %TEMP% swapped for $env:TEMP via -f, and
/// the exit code surfaced.
pub fn powershell(args: &str) -> String {
    let (template, uses_temp) = if args.contains("%TEMP%") { (args.replace("%TEMP%", "{0}"), true) } else { (args.to_string(), false) };
    // In a -f format string, literal braces must be doubled.
    let template = if uses_temp {
        template.replace('{', "{{").replace('}', "}}").replace("{{0}}", "{0}")
    } else {
        template
    };
    let quoted = format!("'{}'", template.replace('\'', "''"));
    let arg = if uses_temp { format!("({quoted} -f $env:TEMP)") } else { quoted };
    format!("$p = Start-Process -FilePath msiexec.exe -ArgumentList {arg} -Wait -PassThru; exit $p.ExitCode")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(property("SWITCH", "a:1"), "SWITCH=a:1");
        assert_eq!(property("X", "a \"b\""), "X=\"a \"\"b\"\"\"");
        assert_eq!(property("X", ""), "X=\"\"");
        let a = msiexec_args("o.msi", Some("o.mst"), &[], "%TEMP%\\o.log");
        assert_eq!(cmd(&a), "msiexec.exe /i \"o.msi\" TRANSFORMS=\"o.mst\" /qn /l*v \"%TEMP%\\o.log\"");
        assert_eq!(
            powershell(&a),
            "$p = Start-Process -FilePath msiexec.exe -ArgumentList ('/i \"o.msi\" TRANSFORMS=\"o.mst\" /qn /l*v \"{0}\\o.log\"' -f $env:TEMP) -Wait -PassThru; exit $p.ExitCode"
        );
        let b = msiexec_args("it's.msi", None, &[("CLIENTCERTIFICATE".into(), "store:subject={x}".into())], "C:\\l.log");
        assert_eq!(powershell(&b), "$p = Start-Process -FilePath msiexec.exe -ArgumentList '/i \"it''s.msi\" CLIENTCERTIFICATE=store:subject={x} /qn /l*v \"C:\\l.log\"' -Wait -PassThru; exit $p.ExitCode");
    }
}
