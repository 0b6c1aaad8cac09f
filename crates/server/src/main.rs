//! `switchboard-server`: `serve` runs the server; `token` mints a token (CONTRACTS.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use switchboard_protocol::Role;
use switchboard_server::config::Config;
use switchboard_server::{ServeOptions, mint_token, serve};

#[derive(Parser)]
#[command(
    name = "switchboard-server",
    version,
    about = "Switchboard's signaling and queue server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. Prints `{"listening":"ADDR"}` on stdout, then with --dev one line per
    /// demo account: `{"user":…,"role":…,"token":…}`. Logs go to stderr (RUST_LOG).
    Serve {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:7700")]
        listen: SocketAddr,
        /// Directory for the database (accounts, call records) and the token key.
        #[arg(long)]
        data_dir: PathBuf,
        /// A TOML file of settings (see docs/server.md); every key is optional.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Create the `dev` realm's demo accounts (alice, bob, carol, agents a1 and a2, admin,
        /// and sup, the supervisor of a1's and a2's team; password = user id) and print their
        /// tokens.
        #[arg(long)]
        dev: bool,
    },
    /// Print a token signed with the data dir's key.
    Token {
        /// The data dir of the server that will accept the token.
        #[arg(long)]
        data_dir: PathBuf,
        /// The realm (tenant).
        #[arg(long)]
        realm: String,
        /// The user id.
        #[arg(long)]
        user: String,
        /// What the token allows.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Lifetime in seconds (default: a 12-hour shift).
        #[arg(long, default_value_t = 12 * 3600)]
        ttl: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    User,
    Agent,
    Customer,
    Admin,
    Supervisor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::User => Role::User,
            RoleArg::Agent => Role::Agent,
            RoleArg::Customer => Role::Customer,
            RoleArg::Admin => Role::Admin,
            RoleArg::Supervisor => Role::Supervisor,
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Token {
            data_dir,
            realm,
            user,
            role,
            ttl,
        } => {
            println!(
                "{}",
                mint_token(&data_dir, &realm, &user, role.into(), ttl)?
            );
            Ok(())
        }
        Command::Serve {
            listen,
            data_dir,
            config,
            dev,
        } => {
            let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info".into());
            // The relay's STUN library logs every unauthenticated first request (the TURN
            // handshake's normal 401) as an error: quiet unless asked for by name.
            if !std::env::var("RUST_LOG").is_ok_and(|v| v.contains("stun_proto")) {
                filter = filter.add_directive("stun_proto=off".parse().expect("a valid directive"));
            }
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            // One socket per client: use every file descriptor the hard limit allows.
            let _ = rlimit::increase_nofile_limit(u64::MAX);
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(ServeOptions {
                listen,
                data_dir,
                config,
                dev,
            }))
        }
    }
}
