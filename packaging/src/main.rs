use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use omnipack::build::{self, BuildOptions};
use omnipack::target::Format;

#[derive(Parser)]
#[command(name = "omnipack", version, about = "Build and sign Outpost Client packages")]
struct Cli {
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile the agent and write packages plus release.json.
    Build {
        /// Formats to build, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        formats: Vec<Format>,
        #[arg(long, default_value = "dist")]
        out: PathBuf,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
        /// Use a prebuilt agent instead of compiling: TRIPLE=PATH, or PATH
        /// for x86_64-unknown-linux-gnu. May be repeated.
        #[arg(long = "agent-bin", value_name = "[TRIPLE=]PATH")]
        agent_bins: Vec<String>,
        /// Armoured OpenPGP secret key for rpm signatures (also
        /// OMNIPACK_OPENPGP_KEY / OMNIPACK_OPENPGP_KEY_FILE; passphrase in
        /// OMNIPACK_OPENPGP_PASSPHRASE).
        #[arg(long, value_name = "FILE")]
        openpgp_key: Option<PathBuf>,
        #[command(flatten)]
        authenticode: AuthenticodeArgs,
        /// Do not sign anything.
        #[arg(long)]
        unsigned: bool,
        /// Print release.json on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Deployment assistant: transforms, command lines and ConfigMgr/Intune
    /// objects from an answer file (`assist init` writes a template).
    #[command(args_conflicts_with_subcommands = true)]
    Assist {
        #[command(subcommand)]
        command: Option<AssistCommand>,
        /// The administrator's answer file (TOML).
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// A build output folder (with release.json) holding the MSIs.
        #[arg(long, value_name = "DIST", default_value = "dist")]
        from: PathBuf,
        #[arg(long, value_name = "DIR", default_value = "deploy")]
        out: PathBuf,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
        #[command(flatten)]
        authenticode: AuthenticodeArgs,
        /// Leave the transforms unsigned.
        #[arg(long)]
        unsigned: bool,
    },
    /// Build a cumulative hotfix patch (.msp) from a released MSI and its
    /// successor with the same ProductCode.
    Patch {
        /// The released MSI (version N).
        #[arg(long, value_name = "OLD.msi")]
        from: PathBuf,
        /// The new MSI (version N.x, same ProductCode).
        #[arg(long, value_name = "NEW.msi")]
        to: PathBuf,
        #[arg(long, value_name = "FILE.msp")]
        out: PathBuf,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
        #[command(flatten)]
        authenticode: AuthenticodeArgs,
        /// Leave the patch unsigned.
        #[arg(long)]
        unsigned: bool,
    },
    /// Add a build's debs and rpms to signed apt and yum repositories.
    Publish {
        /// A build output folder (with release.json).
        #[arg(long, value_name = "DIST")]
        from: PathBuf,
        /// The repository folder: deb/ (apt), rpm/ (yum) and the public key.
        #[arg(long, value_name = "DIR")]
        repo_dir: PathBuf,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
        /// Armoured OpenPGP secret key (as for build).
        #[arg(long, value_name = "FILE")]
        openpgp_key: Option<PathBuf>,
        #[arg(long, default_value = "stable")]
        suite: String,
        #[arg(long, default_value = "main")]
        component: String,
    },
    /// Validate the product manifest and exit.
    Check {
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
    },
}

#[derive(Subcommand)]
enum AssistCommand {
    /// Write an answer-file template listing every setting with its default.
    Init {
        #[arg(long, default_value = "answers.toml")]
        out: PathBuf,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// Authenticode signing options shared by `build` and `assist`.
#[derive(clap::Args)]
struct AuthenticodeArgs {
    /// Authenticode PKCS#12 bundle (password in OMNIPACK_AUTHENTICODE_PASSWORD);
    /// also OMNIPACK_AUTHENTICODE_PKCS12.
    #[arg(long, value_name = "FILE", env = "OMNIPACK_AUTHENTICODE_PKCS12")]
    authenticode_pkcs12: Option<PathBuf>,
    /// Authenticode certificate chain (PEM) with --authenticode-key.
    #[arg(long, value_name = "FILE", env = "OMNIPACK_AUTHENTICODE_CERT", requires = "authenticode_key")]
    authenticode_cert: Option<PathBuf>,
    #[arg(long, value_name = "FILE", env = "OMNIPACK_AUTHENTICODE_KEY", requires = "authenticode_cert")]
    authenticode_key: Option<PathBuf>,
    /// PKCS#11 module for a token-held key, with --authenticode-pkcs11-cert
    /// (file or pkcs11: URI) and --authenticode-pkcs11-key (pkcs11: URI).
    #[arg(long, value_name = "MODULE", requires_all = ["authenticode_pkcs11_cert", "authenticode_pkcs11_key"])]
    authenticode_pkcs11_module: Option<PathBuf>,
    #[arg(long, value_name = "CERT")]
    authenticode_pkcs11_cert: Option<String>,
    #[arg(long, value_name = "URI")]
    authenticode_pkcs11_key: Option<String>,
    /// RFC 3161 time-stamp authority for Authenticode (repeatable); also
    /// OMNIPACK_TIMESTAMP_URL.
    #[arg(long = "timestamp-url", value_name = "URL", env = "OMNIPACK_TIMESTAMP_URL")]
    timestamp_urls: Vec<String>,
}

impl AuthenticodeArgs {
    fn key(self) -> anyhow::Result<Option<omnipack::sign::authenticode::AuthenticodeKey>> {
        use omnipack::sign::authenticode::AuthenticodeKey;
        Ok(match (self.authenticode_pkcs12, self.authenticode_cert.zip(self.authenticode_key), self.authenticode_pkcs11_module) {
            (Some(p), None, None) => Some(AuthenticodeKey::Pkcs12(p)),
            (None, Some((cert, key)), None) => Some(AuthenticodeKey::Pem { cert, key }),
            (None, None, Some(module)) => Some(AuthenticodeKey::Pkcs11 {
                module,
                cert: self.authenticode_pkcs11_cert.unwrap_or_default(),
                key: self.authenticode_pkcs11_key.unwrap_or_default(),
            }),
            (None, None, None) => None,
            _ => anyhow::bail!(
                "give one Authenticode key: --authenticode-pkcs12, --authenticode-cert/--authenticode-key, or --authenticode-pkcs11-module"
            ),
        })
    }
}

/// The Authenticode signer for transforms and patches, or None when unsigned.
fn assist_signer(
    m: &outpost_manifest::Manifest,
    authenticode: AuthenticodeArgs,
    unsigned: bool,
) -> anyhow::Result<Option<omnipack::sign::authenticode::Authenticode>> {
    use omnipack::sign::authenticode::{Authenticode, AuthenticodeKey, Timestamp};
    if unsigned {
        return Ok(None);
    }
    let timestamp_urls = authenticode.timestamp_urls.clone();
    let key = match authenticode.key()? {
        Some(k) => k,
        None => AuthenticodeKey::Throwaway(omnipack::cargo::workspace()?.target_dir.join("omnipack-test-keys/authenticode")),
    };
    let ts = if timestamp_urls.is_empty() { Timestamp::None } else { Timestamp::Url(timestamp_urls) };
    let signer = Authenticode::new(key, ts, &m.product.name, &m.product.homepage)?;
    if signer.is_test_key() {
        eprintln!("\n  *** TEST-SIGNED: signed with a throwaway certificate. Do not deploy it. ***\n");
    }
    Ok(Some(signer))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .with_writer(std::io::stderr)
        .init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("omnipack: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Build {
            formats,
            out,
            manifest,
            agent_bins,
            openpgp_key,
            authenticode,
            unsigned,
            json,
        } => {
            let timestamp_urls = authenticode.timestamp_urls.clone();
            let authenticode = authenticode.key()?;
            let mut bins = BTreeMap::new();
            for spec in agent_bins {
                let (triple, path) = match spec.split_once('=') {
                    Some((t, p)) => (t.to_string(), PathBuf::from(p)),
                    None => ("x86_64-unknown-linux-gnu".to_string(), PathBuf::from(spec)),
                };
                bins.insert(triple, path);
            }
            let formats = if formats.is_empty() { Format::ALL.to_vec() } else { formats };
            let progress = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let release = build::run(&BuildOptions {
                manifest,
                out: out.clone(),
                formats,
                agent_bins: bins,
                openpgp_key,
                authenticode,
                timestamp_urls,
                unsigned,
                progress,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&release)?);
            } else {
                for a in &release.artifacts {
                    let sig = a.signed.as_deref().map_or("unsigned".to_string(), |s| {
                        if a.test_signed {
                            format!("{s}, TEST KEY")
                        } else {
                            s.to_string()
                        }
                    });
                    eprintln!("{}/{}  ({} bytes, {sig})", out.display(), a.path, a.size);
                }
            }
            Ok(())
        }
        Command::Assist { command: Some(AssistCommand::Init { out, manifest, force }), .. } => {
            let m = outpost_manifest::Manifest::load(&manifest)?;
            omnipack::assist::init(&m, &out, force)?;
            eprintln!("{}: answer-file template written", out.display());
            Ok(())
        }
        Command::Assist { command: None, answers, from, out, manifest, authenticode, unsigned } => {
            let Some(answers) = answers else {
                anyhow::bail!("give --answers FILE (write a template with `omnipack assist init`)");
            };
            let m = outpost_manifest::Manifest::load(&manifest)?;
            let signer = assist_signer(&m, authenticode, unsigned)?;
            let written = omnipack::assist::run(&omnipack::assist::AssistOptions { manifest, answers, from, out, signer })?;
            for f in written {
                eprintln!("{}", f.display());
            }
            Ok(())
        }
        Command::Patch { from, to, out, manifest, authenticode, unsigned } => {
            let m = outpost_manifest::Manifest::load(&manifest)?;
            let signer = assist_signer(&m, authenticode, unsigned)?;
            omnipack::assist::write_patch(&m, &from, &to, &out, signer.as_ref())?;
            eprintln!("{}", out.display());
            Ok(())
        }
        Command::Publish {
            from,
            repo_dir,
            manifest,
            openpgp_key,
            suite,
            component,
        } => {
            let m = outpost_manifest::Manifest::load(&manifest)?;
            let ws = omnipack::cargo::workspace()?;
            let key = omnipack::sign::openpgp::OpenPgpKey::load(&omnipack::sign::OpenPgpKeySource::resolve(
                openpgp_key,
                ws.target_dir.join("omnipack-test-keys"),
            ))?;
            if omnipack::sign::Signer::is_test_key(&key) {
                eprintln!("\n  *** TEST-SIGNED REPOSITORY: signed with a throwaway test key. Do not publish it. ***\n");
            }
            let opts = omnipack::publish::PublishOptions {
                from,
                repo_dir: repo_dir.clone(),
                suite,
                component,
                date: omnipack::time::source_date().map_err(anyhow::Error::msg)?,
                product_id: m.product.id.clone(),
                origin: m.product.vendor.clone(),
            };
            let p = omnipack::publish::publish(&opts, &key)?;
            for f in p.key_files.iter().chain(&p.apt_packages).chain(&p.yum_packages) {
                eprintln!("{}", f.display());
            }
            Ok(())
        }
        Command::Check { manifest } => {
            let m = outpost_manifest::Manifest::load(&manifest)?;
            eprintln!(
                "{}: OK ({} {}, {} features, {} settings)",
                manifest.display(),
                m.product.name,
                m.product.version,
                m.features.len(),
                m.settings.len()
            );
            Ok(())
        }
    }
}
