//! Every generated text file (units, maintainer scripts, documents) is a tera
//! template under `packaging/templates/`, compiled into omnipack.

use std::sync::OnceLock;

use tera::{Context, Tera};

const TEMPLATES: &[(&str, &str)] = &[
    ("systemd/unit.service", include_str!("../templates/systemd/unit.service")),
    ("linux/logrotate", include_str!("../templates/linux/logrotate")),
    ("posix/answers.sh", include_str!("../templates/posix/answers.sh")),
    ("deb/preinst", include_str!("../templates/deb/preinst")),
    ("deb/postinst", include_str!("../templates/deb/postinst")),
    ("deb/prerm", include_str!("../templates/deb/prerm")),
    ("deb/postrm", include_str!("../templates/deb/postrm")),
    ("deb/copyright", include_str!("../templates/deb/copyright")),
    ("deb/changelog", include_str!("../templates/deb/changelog")),
    ("bundle/README-windows.txt", include_str!("../templates/bundle/README-windows.txt")),
    ("bundle/README-non-windows.txt", include_str!("../templates/bundle/README-non-windows.txt")),
    ("bundle/README-assist.txt", include_str!("../templates/bundle/README-assist.txt")),
    ("rpm/pre.sh", include_str!("../templates/rpm/pre.sh")),
    ("rpm/post.sh", include_str!("../templates/rpm/post.sh")),
    ("rpm/preun.sh", include_str!("../templates/rpm/preun.sh")),
    ("rpm/postun.sh", include_str!("../templates/rpm/postun.sh")),
    ("rpm/posttrans.sh", include_str!("../templates/rpm/posttrans.sh")),
    ("launchd/daemon.plist", include_str!("../templates/launchd/daemon.plist")),
    ("pkg/preinstall", include_str!("../templates/pkg/preinstall")),
    ("pkg/postinstall", include_str!("../templates/pkg/postinstall")),
    ("pkg/uninstall.sh", include_str!("../templates/pkg/uninstall.sh")),
    (
        "pkg/profile.mobileconfig",
        include_str!("../templates/pkg/profile.mobileconfig"),
    ),
    ("pkg/PackageInfo.xml", include_str!("../templates/pkg/PackageInfo.xml")),
    ("pkg/Distribution.xml", include_str!("../templates/pkg/Distribution.xml")),
    ("assist/configmgr.ps1", include_str!("../templates/assist/configmgr.ps1")),
    ("assist/intune.txt", include_str!("../templates/assist/intune.txt")),
];

fn tera() -> &'static Tera {
    static T: OnceLock<Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tera::new();
        // Nothing we render is HTML; escaping would corrupt scripts.
        t.autoescape_on(Vec::<&str>::new());
        // XML documents (plists, PackageInfo, Distribution) escape each value
        // with `| xml`, which also refuses what XML 1.0 cannot carry.
        t.register_filter("xml", xml_filter);
        t.add_raw_templates(TEMPLATES.iter().copied())
            .expect("built-in templates parse (checked by a unit test)");
        t
    })
}

fn xml_filter(value: &tera::Value, _: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    let s = value.as_str().map_or_else(|| value.to_string(), str::to_string);
    crate::xml::check(&s).map_err(tera::Error::message)?;
    Ok(crate::xml::attr(&s, false))
}

#[derive(Debug, thiserror::Error)]
#[error("rendering template {name}: {source}")]
pub struct RenderError {
    name: String,
    #[source]
    source: tera::Error,
}

pub fn render(name: &str, ctx: &Context) -> Result<String, RenderError> {
    tera().render(name, ctx).map_err(|source| RenderError {
        name: name.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_templates_parse() {
        let _ = super::tera();
    }
}
