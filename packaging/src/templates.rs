//! Every generated text file (units, maintainer scripts, documents) is a tera
//! template under `packaging/templates/`, compiled into omnipack.

use std::sync::OnceLock;

use tera::{Context, Tera};

const TEMPLATES: &[(&str, &str)] = &[
    ("systemd/unit.service", include_str!("../templates/systemd/unit.service")),
    ("linux/logrotate", include_str!("../templates/linux/logrotate")),
    ("linux/answers.sh", include_str!("../templates/linux/answers.sh")),
    ("deb/preinst", include_str!("../templates/deb/preinst")),
    ("deb/postinst", include_str!("../templates/deb/postinst")),
    ("deb/prerm", include_str!("../templates/deb/prerm")),
    ("deb/postrm", include_str!("../templates/deb/postrm")),
    ("deb/copyright", include_str!("../templates/deb/copyright")),
    ("deb/changelog", include_str!("../templates/deb/changelog")),
    ("rpm/pre.sh", include_str!("../templates/rpm/pre.sh")),
    ("rpm/post.sh", include_str!("../templates/rpm/post.sh")),
    ("rpm/preun.sh", include_str!("../templates/rpm/preun.sh")),
    ("rpm/postun.sh", include_str!("../templates/rpm/postun.sh")),
    ("rpm/posttrans.sh", include_str!("../templates/rpm/posttrans.sh")),
    ("assist/configmgr.ps1", include_str!("../templates/assist/configmgr.ps1")),
    ("assist/intune.txt", include_str!("../templates/assist/intune.txt")),
];

fn tera() -> &'static Tera {
    static T: OnceLock<Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tera::new();
        // Nothing we render is HTML; escaping would corrupt scripts.
        t.autoescape_on(Vec::<&str>::new());
        t.add_raw_templates(TEMPLATES.iter().copied())
            .expect("built-in templates parse (checked by a unit test)");
        t
    })
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
