//! `outpost-agent`: the Outpost Client service and its administrator commands.

use outpost_agent::{config, paths, service, status, verify};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "outpost-agent", version, about = "Outpost Client endpoint agent")]
struct Cli {
    /// Treat this directory as `/` for every path the agent uses (an
    /// extracted package, a chroot under construction). Also OUTPOST_ROOT.
    #[arg(long, global = true, env = "OUTPOST_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service in the foreground until SIGTERM / service stop.
    Run {
        /// Started by the Windows service control manager.
        #[arg(long)]
        service: bool,
        /// Also log to standard error.
        #[arg(long)]
        stderr: bool,
    },
    /// Whether the service is running, and what it runs.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Check the installed program files against the package's SHA-256
    /// list: exit 1 naming each changed or missing file, 2 without a list.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Inspect and validate configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Effective value of each setting and the layer it comes from.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Validate a settings file with the agent's schema; exit 1 on any error.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = match paths::Paths::new(cli.root.clone()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("outpost-agent: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run { service, stderr } => service::run(&paths, service, stderr),
        Command::Status { json } => status::show(&paths, json),
        Command::Verify { json } => verify::command(&paths, json),
        Command::Config {
            command: ConfigCommand::Show { json },
        } => config::show(&paths, json),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => config::check_file(&file),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("outpost-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}
