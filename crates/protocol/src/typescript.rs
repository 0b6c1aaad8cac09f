//! The TypeScript declarations of the wire, generated from the Rust types (ts-rs) into one file,
//! `ui/src/generated/protocol.ts`. A test fails when that file is stale; `cargo xtask codegen`
//! rewrites it.

use ts_rs::{Config, TS};

use crate::agent::*;
use crate::board::*;
use crate::call::*;
use crate::client::*;
use crate::error::ErrorCode;
use crate::ids::*;
use crate::reason::*;
use crate::server::*;
use crate::session::*;

/// Appends `export type X = …;` for one type, with its doc comment.
fn declare<T: TS>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// The whole file.
pub fn typescript_bindings() -> String {
    // u64 millisecond timestamps and sizes stay far below 2^53: plain numbers in JavaScript.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from crates/protocol by `cargo xtask codegen`. Do not edit by hand.\n\
         // The wire format: see docs/protocol.md.\n\n",
    );
    out.push_str(&format!(
        "/** The protocol version this build speaks (`hello.v`). */\nexport const PROTOCOL_VERSION = {};\n\n",
        crate::PROTOCOL_VERSION
    ));
    out.push_str(&format!(
        "/** Largest frame the server accepts, in bytes. */\nexport const MAX_FRAME_BYTES = {};\n\n",
        crate::limits::MAX_FRAME_BYTES
    ));
    let o = &mut out;
    let c = &cfg;
    declare::<serde_json::Value>(c, o);
    // Ids and bounded strings.
    declare::<UserId>(c, o);
    declare::<SessionId>(c, o);
    declare::<CallId>(c, o);
    declare::<Business>(c, o);
    declare::<TransferId>(c, o);
    declare::<MessageId>(c, o);
    declare::<Text>(c, o);
    declare::<Label>(c, o);
    declare::<Sdp>(c, o);
    declare::<Token>(c, o);
    declare::<CandidateLine>(c, o);
    declare::<Sha256Hex>(c, o);
    // Reasons and errors.
    declare::<EndReason>(c, o);
    declare::<EndCode>(c, o);
    declare::<Side>(c, o);
    declare::<ErrorCode>(c, o);
    // Sessions.
    declare::<Role>(c, o);
    declare::<ClientInfo>(c, o);
    declare::<Limits>(c, o);
    declare::<IceServer>(c, o);
    declare::<PresenceStatus>(c, o);
    declare::<SessionEndCode>(c, o);
    declare::<MissedCall>(c, o);
    // Calls.
    declare::<CallMedia>(c, o);
    declare::<CallKind>(c, o);
    declare::<Invitee>(c, o);
    declare::<MemberState>(c, o);
    declare::<Member>(c, o);
    declare::<SdpKind>(c, o);
    declare::<IceCandidate>(c, o);
    declare::<MediaState>(c, o);
    declare::<FileOffer>(c, o);
    declare::<Extra>(c, o);
    // Agents and queues.
    declare::<Skill>(c, o);
    declare::<AgentProfile>(c, o);
    declare::<AgentState>(c, o);
    declare::<AgentAvailability>(c, o);
    declare::<QueueContext>(c, o);
    declare::<CtiFigures>(c, o);
    declare::<WaitingCustomer>(c, o);
    declare::<TransferTarget>(c, o);
    // Client → server.
    declare::<ClientFrame>(c, o);
    declare::<ClientMessage>(c, o);
    declare::<Hello>(c, o);
    declare::<SubscribePresence>(c, o);
    declare::<Invite>(c, o);
    declare::<InviteMembers>(c, o);
    declare::<CallRef>(c, o);
    declare::<Accept>(c, o);
    declare::<Reject>(c, o);
    declare::<Cancel>(c, o);
    declare::<SdpToPeer>(c, o);
    declare::<IceToPeer>(c, o);
    declare::<MediaStateUpdate>(c, o);
    declare::<SwitchMedia>(c, o);
    declare::<SendMessage>(c, o);
    declare::<SendCallMessage>(c, o);
    declare::<FileOfferToPeer>(c, o);
    declare::<FileReplyToPeer>(c, o);
    declare::<AgentRegister>(c, o);
    declare::<SetAgentState>(c, o);
    declare::<Enqueue>(c, o);
    declare::<Transfer>(c, o);
    declare::<EndWrapUp>(c, o);
    declare::<SetHold>(c, o);
    declare::<WatchFloor>(c, o);
    declare::<SetMonitor>(c, o);
    declare::<MonitorMode>(c, o);
    // Server → client.
    declare::<ServerFrame>(c, o);
    declare::<ServerMessage>(c, o);
    declare::<Welcome>(c, o);
    declare::<Pong>(c, o);
    declare::<ErrorMessage>(c, o);
    declare::<TokenRefreshed>(c, o);
    declare::<SessionEnded>(c, o);
    declare::<PresenceUpdate>(c, o);
    declare::<CallCreated>(c, o);
    declare::<IncomingCall>(c, o);
    declare::<MemberUpdate>(c, o);
    declare::<CallEnded>(c, o);
    declare::<SdpFromPeer>(c, o);
    declare::<IceFromPeer>(c, o);
    declare::<PeerMediaState>(c, o);
    declare::<MediaSwitched>(c, o);
    declare::<ReceivedMessage>(c, o);
    declare::<MessageSent>(c, o);
    declare::<ReceivedCallMessage>(c, o);
    declare::<FileOfferFromPeer>(c, o);
    declare::<FileReplyFromPeer>(c, o);
    declare::<MissedCalls>(c, o);
    declare::<AgentStateUpdate>(c, o);
    declare::<Queued>(c, o);
    declare::<QueuePosition>(c, o);
    declare::<Cti>(c, o);
    declare::<CallHold>(c, o);
    declare::<Wallboard>(c, o);
    declare::<QueueBoard>(c, o);
    declare::<AgentBoard>(c, o);
    declare::<AgentCall>(c, o);
    declare::<OwnFigures>(c, o);
    declare::<MonitorContext>(c, o);
    declare::<MonitorUpdate>(c, o);
    declare::<Conference>(c, o);
    declare::<ConsultContext>(c, o);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A generated TypeScript file for types outside this crate (the console's IPC types, the
/// shell's): the same declarations, with `import type` lines for the names it takes from
/// other generated files.
pub struct Bindings {
    cfg: Config,
    out: String,
    declared: std::collections::BTreeSet<String>,
    used: std::collections::BTreeSet<String>,
}

struct Names<'a>(&'a Config, &'a mut std::collections::BTreeSet<String>);

impl ts_rs::TypeVisitor for Names<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.1.insert(T::ident(self.0));
    }
}

impl Bindings {
    /// A file that starts with `header` (comment lines).
    pub fn new(header: &str) -> Self {
        Self {
            cfg: Config::new().with_large_int("number"),
            out: String::new(),
            declared: Default::default(),
            used: Default::default(),
        }
        .with_header(header)
    }

    fn with_header(mut self, header: &str) -> Self {
        self.out.push_str(header);
        self
    }

    /// Declares `T` here.
    pub fn declare<T: TS + 'static>(&mut self) -> &mut Self {
        declare::<T>(&self.cfg, &mut self.out);
        self.declared.insert(T::ident(&self.cfg));
        T::visit_dependencies(&mut Names(&self.cfg, &mut self.used));
        self
    }

    /// The names this file declares.
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        self.declared.clone()
    }

    /// The file, importing each name it uses but does not declare from the first of `from`
    /// (module, names it declares) that has it.
    pub fn finish(&self, from: &[(&str, std::collections::BTreeSet<String>)]) -> String {
        let mut imports = String::new();
        for (module, names) in from {
            let take: Vec<&str> = self
                .used
                .iter()
                .filter(|n| !self.declared.contains(*n) && names.contains(*n))
                .map(String::as_str)
                .collect();
            if !take.is_empty() {
                imports.push_str(&format!(
                    "import type {{ {} }} from \"{module}\";\n",
                    take.join(", ")
                ));
            }
        }
        let mut out = self.out.clone();
        if let Some(end) = out.find("\n\n").filter(|_| !imports.is_empty()) {
            out.insert_str(end + 2, &format!("{imports}\n"));
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

/// The names `protocol.ts` declares (for files that import from it).
pub fn protocol_names() -> std::collections::BTreeSet<String> {
    typescript_bindings()
        .lines()
        .filter_map(|l| l.strip_prefix("export type "))
        .filter_map(|l| l.split([' ', '<', '=']).next())
        .map(str::to_owned)
        .collect()
}

/// Compares a generated file with the one on disk (the test fails when it is stale), or
/// rewrites it when `UPDATE_GOLDEN` is set (`cargo xtask codegen`).
pub fn check_generated(path: &std::path::Path, generated: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        return std::fs::write(path, generated).map_err(|e| e.to_string());
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    if on_disk == generated {
        Ok(())
    } else {
        Err(format!(
            "{} is stale: run `cargo xtask codegen` and commit the result",
            path.display()
        ))
    }
}
