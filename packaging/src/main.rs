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
        /// Do not sign anything.
        #[arg(long)]
        unsigned: bool,
        /// Print release.json on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Validate the product manifest and exit.
    Check {
        #[arg(long, default_value = "packaging/outpost.toml")]
        manifest: PathBuf,
    },
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
        Command::Build { formats, out, manifest, agent_bins, openpgp_key, unsigned, json } => {
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
            let release = build::run(&BuildOptions { manifest, out: out.clone(), formats, agent_bins: bins, openpgp_key, unsigned, progress })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&release)?);
            } else {
                for a in &release.artifacts {
                    let sig = a.signed.as_deref().map_or("unsigned".to_string(), |s| if a.test_signed { format!("{s}, TEST KEY") } else { s.to_string() });
                    eprintln!("{}/{}  ({} bytes, {sig})", out.display(), a.path, a.size);
                }
            }
            Ok(())
        }
        Command::Check { manifest } => {
            let m = outpost_manifest::Manifest::load(&manifest)?;
            eprintln!("{}: OK ({} {}, {} features, {} settings)", manifest.display(), m.product.name, m.product.version, m.features.len(), m.settings.len());
            Ok(())
        }
    }
}
