use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use omnipack::build::BuildOptions;
use omnipack::packager::Input;
use omnipack::release::Signature;
use omnipack::sign::signtool::{FileSigner, Signtool};
use omnipack::signers::KeyOptions;
use omnipack::target::Format;
use outpost_manifest::Manifest;

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
    Build(BuildArgs),
    /// A configuration profile (.mobileconfig) for MDM that sets the agent's
    /// managed preferences: every macOS setting with its default, or the
    /// values given with --set.
    Mobileconfig {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// NAME=VALUE, checked against the schema. May be repeated.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
    },
    /// Submit a signed pkg to Apple's notary service and staple the ticket
    /// (needs the network and an App Store Connect API key; see README).
    Notarize {
        /// The signed pkg; the ticket is stapled to it in place.
        pkg: PathBuf,
        /// App Store Connect API key as JSON (`rcodesign
        /// encode-app-store-connect-api-key` writes one).
        #[arg(long, value_name = "FILE", env = "OMNIPACK_NOTARY_API_KEY")]
        api_key: PathBuf,
        /// How long to wait for Apple's verdict.
        #[arg(long, default_value_t = 1800)]
        wait_seconds: u64,
    },
    /// Deployment assistant: transforms, command lines and ConfigMgr/Intune
    /// objects from an answer file (`assist init` writes a template). Runs
    /// on Linux and, as omnipack.exe from the assistant's bundle, on Windows.
    #[command(args_conflicts_with_subcommands = true)]
    Assist {
        #[command(subcommand)]
        command: Option<AssistCommand>,
        /// The administrator's answer file (TOML).
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// A release folder (with release.json) holding the MSIs [default:
        /// dist when it holds a release.json, else the folder of the running
        /// omnipack (the extracted Windows bundle) when it holds one].
        #[arg(long, value_name = "DIST")]
        from: Option<PathBuf>,
        /// Where the transforms, command lines and scripts go (replaced
        /// whole; relative to the current folder).
        #[arg(long, value_name = "DIR", default_value = "deploy")]
        out: PathBuf,
        #[command(flatten)]
        manifest: ManifestArg,
        #[command(flatten)]
        authenticode: AuthenticodeArgs,
        #[command(flatten)]
        signtool: SigntoolArgs,
        /// Leave the transforms (and patches) unsigned. On Windows they are
        /// signed only with --signtool; without either, assist refuses.
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
        #[command(flatten)]
        manifest: ManifestArg,
        #[command(flatten)]
        authenticode: AuthenticodeArgs,
        #[command(flatten)]
        signtool: SigntoolArgs,
        /// Leave the patch unsigned (on Windows: required unless --signtool).
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
    /// Check a release folder: every artifact against release.json and
    /// SHA256SUMS, every signature by omnipack's own readers; exit 1 with one
    /// line per problem.
    Verify {
        #[arg(default_value = "dist")]
        dir: PathBuf,
        /// A JSON report: per file, each check and its result.
        #[arg(long)]
        json: bool,
        /// For the release pipeline: test-signed or unsigned artifacts are
        /// failures, not notices.
        #[arg(long)]
        release: bool,
    },
    /// What is inside a package omnipack made (deb, rpm, MSI, MST, MSP, pkg).
    Inspect {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// What changed between two builds of the same package: files, settings
    /// and defaults, properties, scripts, metadata. Exit 0 when identical, 1
    /// when they differ (as diff), 2 on an error.
    Diff {
        a: PathBuf,
        b: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Validate the product manifest and exit.
    Check {
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
    },
    /// Compile the agent for one target as `build` does and print the
    /// executable's path, for `build --agent-bin` (universal2-apple-darwin:
    /// the x86_64 slice for macOS 10.14 and the arm64 one for 11.0, joined).
    Agent {
        /// A Rust target triple, or universal2-apple-darwin.
        #[arg(long, value_name = "TRIPLE")]
        target: String,
    },
}

#[derive(clap::Args)]
struct BuildArgs {
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
    /// Use a prebuilt MSI custom action DLL (packaging/msi-ca) instead of
    /// compiling it: TRIPLE=PATH, e.g. x86_64-pc-windows-gnu=x.dll. May
    /// be repeated.
    #[arg(long = "msi-ca-bin", value_name = "TRIPLE=PATH")]
    msi_ca_bins: Vec<String>,
    /// Use a prebuilt deployment assistant for Windows (omnipack built for
    /// x86_64-pc-windows-gnu) in the assistant's bundle instead of compiling
    /// it (a build of every format makes the bundles).
    #[arg(long = "assistant-bin", value_name = "PATH")]
    assistant_bin: Option<PathBuf>,
    /// Armoured OpenPGP secret key for rpm signatures (also
    /// OMNIPACK_OPENPGP_KEY / OMNIPACK_OPENPGP_KEY_FILE; passphrase in
    /// OMNIPACK_OPENPGP_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    openpgp_key: Option<PathBuf>,
    #[command(flatten)]
    authenticode: AuthenticodeArgs,
    #[command(flatten)]
    apple: AppleArgs,
    /// Notarize the pkg with Apple's notary service and staple the ticket
    /// before the bundles and checksums are made (network; an omnipack built
    /// with `--features notarize`): the App Store Connect API key as JSON.
    #[arg(long, value_name = "FILE")]
    notarize_api_key: Option<PathBuf>,
    /// Do not sign anything.
    #[arg(long)]
    unsigned: bool,
    /// Print release.json on stdout.
    #[arg(long)]
    json: bool,
    }

#[derive(Subcommand)]
enum AssistCommand {
    /// Write an answer-file template listing every setting with its default.
    Init {
        #[arg(long, default_value = "answers.toml")]
        out: PathBuf,
        #[command(flatten)]
        manifest: ManifestArg,
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
    #[arg(
        long,
        value_name = "FILE",
        env = "OMNIPACK_AUTHENTICODE_CERT",
        requires = "authenticode_key"
    )]
    authenticode_cert: Option<PathBuf>,
    #[arg(
        long,
        value_name = "FILE",
        env = "OMNIPACK_AUTHENTICODE_KEY",
        requires = "authenticode_cert"
    )]
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
    /// Dual signatures for legacy Windows (on by default, for both MSIs):
    /// every executable, DLL, MSI, MST and MSP gets a SHA-1 signature, the
    /// one Windows XP/Vista/Server 2003/2008 read, with the SHA-256 one nested
    /// in it (as signtool /as and osslsigncode -nest make). With
    /// --timestamp-url the SHA-1 one gets a legacy Authenticode time stamp
    /// (the authority must answer those too) and the SHA-256 one RFC 3161.
    /// --legacy-sha1=off: one SHA-256 signature.
    #[arg(
        long,
        value_name = "on|off",
        env = "OMNIPACK_LEGACY_SHA1",
        default_value = "on",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "on",
        value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["on", "off"]), |v| v == "on"),
        action = clap::ArgAction::Set
    )]
    legacy_sha1: bool,
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

/// `--manifest` of `assist` and `patch`, which also run from the Windows bundle.
#[derive(clap::Args)]
struct ManifestArg {
    /// The product manifest [default: packaging/outpost.toml when it
    /// exists, else outpost.toml beside the running omnipack (the
    /// assistant's bundle)].
    #[arg(long = "manifest", value_name = "FILE")]
    path: Option<PathBuf>,
}

impl ManifestArg {
    fn load(self) -> anyhow::Result<(PathBuf, Manifest)> {
        let path = omnipack::assist::bundle::manifest(self.path)?;
        let m = Manifest::load(&path)?;
        Ok((path, m))
    }
}

/// Signing transforms and patches with Microsoft's signtool.exe (Windows
/// SDK), the one signing tool omnipack uses on Windows.
#[derive(clap::Args)]
struct SigntoolArgs {
    /// signtool.exe from the Windows SDK (e.g. C:\Program Files
    /// (x86)\Windows Kits\10\bin\10.0.22621.0\x64\signtool.exe): signs each
    /// transform and patch with one SHA-256 signature (`signtool sign /fd
    /// sha256`), time-stamped with --timestamp-url (`/tr`, one authority);
    /// --legacy-sha1 has no effect (signtool cannot nest a second signature
    /// in an MSI-family file).
    #[arg(long, value_name = "PATH", env = "OMNIPACK_SIGNTOOL")]
    signtool: Option<PathBuf>,
    /// The signing certificate's SHA-1 thumbprint in the certificate store
    /// (`/sha1`); without it signtool picks the best one (`/a`) unless
    /// --signtool-arg chooses one (/f, /n, /i, /r, /sha1, /dlib).
    #[arg(long, value_name = "THUMBPRINT", env = "OMNIPACK_SIGNTOOL_SHA1", requires = "signtool")]
    signtool_sha1: Option<String>,
    /// One more signtool argument, passed as it is before the file (e.g.
    /// --signtool-arg /f --signtool-arg C:\keys\sign.pfx). May be repeated.
    #[arg(
        long = "signtool-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "signtool"
    )]
    signtool_args: Vec<String>,
}

/// The signer for transforms and patches, or None when unsigned: signtool
/// when given; else, on Windows, a refusal (osslsigncode, openssl and the
/// throwaway test keys under cargo's target folder are build-machine
/// tools); else osslsigncode with the given key or a throwaway one.
fn assist_signer(
    m: &Manifest,
    authenticode: AuthenticodeArgs,
    signtool: SigntoolArgs,
    unsigned: bool,
) -> anyhow::Result<Option<FileSigner>> {
    if unsigned {
        return Ok(None);
    }
    let timestamp_urls = authenticode.timestamp_urls.clone();
    let legacy_sha1 = authenticode.legacy_sha1;
    let key = authenticode.key()?;
    if let Some(exe) = signtool.signtool {
        if key.is_some() {
            anyhow::bail!("give either --signtool or an --authenticode-* key, not both");
        }
        let s = Signtool::new(
            exe,
            signtool.signtool_sha1.as_deref(),
            &timestamp_urls,
            signtool.signtool_args,
            &m.product.name,
            &m.product.homepage,
        )?;
        return Ok(Some(FileSigner::Signtool(s)));
    }
    if cfg!(windows) {
        anyhow::bail!(
            "no signing tool configured: pass --unsigned to leave the transforms and patches unsigned, or --signtool PATH \
             (signtool.exe from the Windows SDK) with --signtool-sha1 THUMBPRINT of your code-signing certificate{}",
            if key.is_some() {
                " (--authenticode-* keys are for osslsigncode, which omnipack does not run on Windows)"
            } else {
                ""
            }
        );
    }
    let keys = KeyOptions {
        timestamp_urls,
        legacy_sha1,
        authenticode: key,
        test_keys: omnipack::cargo::workspace()?.target_dir.join("omnipack-test-keys"),
        ..Default::default()
    };
    Ok(Some(FileSigner::Osslsigncode(omnipack::signers::authenticode(&keys, m)?)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // apple-codesign reports every signature it makes as a warning.
    let level = match cli.verbose {
        0 => "warn,apple_codesign=error,apple_xar=error",
        1 => "info,apple_codesign=warn,apple_xar=warn",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        // Colours for a terminal only: a CI log or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Build(args) => build(args),
        Command::Verify { dir, json, release } => omnipack::verify::command(&dir, json, release),
        Command::Inspect { file, json } => omnipack::inspect::command(&file, json),
        Command::Diff { a, b, json } => std::process::exit(omnipack::inspect::diff_command(&a, &b, json)),
        Command::Mobileconfig { out, set, manifest } => mobileconfig(&out, set, &manifest),
        Command::Notarize { pkg, api_key, wait_seconds } => notarize(&pkg, &api_key, wait_seconds),
        Command::Assist { command: Some(AssistCommand::Init { out, manifest, force }), .. } => {
            let (_, m) = manifest.load()?;
            omnipack::assist::init(&m, &out, force)?;
            eprintln!("{}: answer-file template written", out.display());
            Ok(())
        }
        Command::Assist { command: None, answers, from, out, manifest, authenticode, signtool, unsigned } => {
            let Some(answers) = answers else {
                anyhow::bail!("give --answers FILE (write a template with `omnipack assist init`)");
            };
            let (manifest, m) = manifest.load()?;
            let from = omnipack::assist::bundle::release_dir(from)?;
            let signer = assist_signer(&m, authenticode, signtool, unsigned)?;
            let opts = omnipack::assist::AssistOptions { manifest, answers, from, out, signer };
            for f in omnipack::assist::run(&opts)? {
                eprintln!("{}", f.display());
            }
            Ok(())
        }
        Command::Patch { from, to, out, manifest, authenticode, signtool, unsigned } => {
            let (_, m) = manifest.load()?;
            let signer = assist_signer(&m, authenticode, signtool, unsigned)?;
            omnipack::assist::write_patch(&m, &from, &to, &out, signer.as_ref())?;
            eprintln!("{}", out.display());
            Ok(())
        }
        Command::Publish { from, repo_dir, manifest, openpgp_key, suite, component } => {
            publish(from, repo_dir, &manifest, openpgp_key, suite, component)
        }
        Command::Check { manifest } => {
            let (m, _) = omnipack::build::check(&manifest, &Format::ALL)?;
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
        Command::Agent { target } => {
            let ws = omnipack::cargo::workspace()?;
            println!("{}", omnipack::cargo::build_agent(&ws, &target)?.display());
            Ok(())
        }
    }
}

/// `--agent-bin [TRIPLE=]PATH` and `--msi-ca-bin TRIPLE=PATH`, by input and triple.
fn prebuilt(agent_bins: Vec<String>, msi_ca_bins: Vec<String>) -> anyhow::Result<BTreeMap<(Input, String), PathBuf>> {
    let mut bins = BTreeMap::new();
    for spec in agent_bins {
        let (triple, path) = match spec.split_once('=') {
            Some((t, p)) => (t.to_string(), PathBuf::from(p)),
            None => ("x86_64-unknown-linux-gnu".to_string(), PathBuf::from(spec)),
        };
        bins.insert((Input::Agent, triple), path);
    }
    for spec in msi_ca_bins {
        let (triple, path) = spec.split_once('=').with_context(|| format!("--msi-ca-bin `{spec}`: expected TRIPLE=PATH"))?;
        bins.insert((Input::MsiCustomAction, triple.to_string()), PathBuf::from(path));
    }
    Ok(bins)
}

fn build(a: BuildArgs) -> anyhow::Result<()> {
    let keys = KeyOptions {
        openpgp_key: a.openpgp_key,
        timestamp_urls: a.authenticode.timestamp_urls.clone(),
        legacy_sha1: a.authenticode.legacy_sha1,
        authenticode: a.authenticode.key()?,
        apple_application: a.apple.application.map(apple_key),
        apple_installer: a.apple.installer.map(apple_key),
        apple_timestamp_url: a.apple.timestamp_url,
        test_keys: PathBuf::new(),
    };
    let release = omnipack::build::run(&BuildOptions {
        manifest: a.manifest,
        out: a.out.clone(),
        formats: if a.formats.is_empty() { Format::ALL.to_vec() } else { a.formats },
        binaries: prebuilt(a.agent_bins, a.msi_ca_bins)?,
        assistant: a.assistant_bin,
        notarize_api_key: a.notarize_api_key,
        keys,
        unsigned: a.unsigned,
        progress: !a.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&release)?);
        return Ok(());
    }
    for art in &release.artifacts {
        let sig = match art.signature {
            Signature::Unsigned => "unsigned".to_string(),
            Signature::Release(s) => s.as_str().to_string(),
            Signature::Test(s) => format!("{}, TEST KEY", s.as_str()),
        };
        eprintln!("{}/{}  ({} bytes, {sig})", a.out.display(), art.path, art.size);
    }
    for b in &release.bundles {
        eprintln!("{}/{}  ({} bytes, {} files)", a.out.display(), b.path, b.size, b.contents.len());
    }
    for s in &release.sboms {
        eprintln!("{}/{}  (SBOM of {})", a.out.display(), s.path, s.describes);
    }
    Ok(())
}

fn mobileconfig(out: &std::path::Path, set: Vec<String>, manifest: &std::path::Path) -> anyhow::Result<()> {
    use omnipack::macos::mobileconfig;
    let m = Manifest::load(manifest)?;
    let mut values = BTreeMap::new();
    for pair in set {
        let Some((k, v)) = pair.split_once('=') else {
            anyhow::bail!("--set `{pair}`: expected NAME=VALUE");
        };
        values.insert(k.trim().to_string(), v.to_string());
    }
    let profile = mobileconfig::render_profile(&m, &values, "--set", mobileconfig::Unset::Defaults)?;
    omnipack::output::write_atomic(out, profile.as_bytes())?;
    eprintln!("{}: configuration profile for the `{}` domain", out.display(), mobileconfig::domain(&m));
    Ok(())
}

fn publish(
    from: PathBuf,
    repo_dir: PathBuf,
    manifest: &std::path::Path,
    openpgp_key: Option<PathBuf>,
    suite: String,
    component: String,
) -> anyhow::Result<()> {
    let m = Manifest::load(manifest)?;
    let keys = KeyOptions { openpgp_key, test_keys: omnipack::cargo::workspace()?.target_dir.join("omnipack-test-keys"), ..Default::default() };
    let key = omnipack::signers::openpgp(&keys)?;
    let opts = omnipack::publish::PublishOptions {
        from,
        repo_dir,
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

#[derive(clap::Args)]
struct AppleArgs {
    /// Developer ID Application identity for the agent executable: a
    /// PKCS#12 file (.p12/.pfx, password in OMNIPACK_APPLE_PASSWORD) or a PEM
    /// file with the certificate chain and the private key.
    #[arg(long = "apple-application", value_name = "FILE", env = "OMNIPACK_APPLE_APPLICATION")]
    application: Option<PathBuf>,
    /// Developer ID Installer identity for the pkg, as --apple-application.
    #[arg(long = "apple-installer", value_name = "FILE", env = "OMNIPACK_APPLE_INSTALLER")]
    installer: Option<PathBuf>,
    /// RFC 3161 server for Apple signatures, or `none` (default: Apple's
    /// with real identities, none with throwaway ones).
    #[arg(long = "apple-timestamp-url", value_name = "URL", env = "OMNIPACK_APPLE_TIMESTAMP_URL")]
    timestamp_url: Option<String>,
}

fn apple_key(path: PathBuf) -> omnipack::sign::apple::AppleKeySource {
    use omnipack::sign::apple::AppleKeySource;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if matches!(ext.as_str(), "p12" | "pfx") {
        AppleKeySource::Pkcs12(path)
    } else {
        AppleKeySource::Pem(path)
    }
}

fn notarize(pkg: &std::path::Path, api_key: &std::path::Path, wait_seconds: u64) -> anyhow::Result<()> {
    omnipack::macos::notarize::notarize_and_staple(pkg, api_key, std::time::Duration::from_secs(wait_seconds))?;
    eprintln!("{}: notarized and stapled", pkg.display());
    Ok(())
}
