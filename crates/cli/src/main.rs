//! `switchboard-cli`: test calls, bots and agents on a terminal; the far end of our tests.
//! Flags, commands and the `--json` summary are fixed by CONTRACTS.md ("Command lines").
//! Live figures go to stderr once a second; with `--json` the last line of stdout is the
//! call's summary. Exit status 0 means the call happened and ended normally.

mod consult;
mod hold;
mod monitor;
mod summary;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use switchboard_engine::{Engine, EngineConfig, Event, VideoProfile};
use switchboard_protocol::{
    AgentAvailability, AgentProfile, AgentRegister, Business, CallId, CallKind, CallMedia,
    ClientMessage, EndCode, Label, SetAgentState, Skill, Text, Token, UserId,
};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::summary::Summary;

#[derive(Parser)]
#[command(
    name = "switchboard-cli",
    version,
    about = "Switchboard's headless client"
)]
struct Cli {
    /// The server's WebSocket URL, e.g. ws://127.0.0.1:7700/ws; several nodes of one
    /// switchboard comma-separated (the client moves to the next when its node goes).
    #[arg(long)]
    server: String,
    /// A token (from `POST /auth/login` or `switchboard-server token`).
    #[arg(long)]
    token: String,
    /// Print the call's summary as JSON on the last line of stdout.
    #[arg(long)]
    json: bool,
    /// Camera to send (`pattern`: the synthetic test pattern).
    #[arg(long, default_value = "pattern")]
    video_device: String,
    /// Microphone to send (`tone`: the synthetic tone with timing marks; `file:PATH`: a WAV
    /// file, looped; `audio:<id>`: a sound card, see `devices`).
    #[arg(long, default_value = "tone")]
    audio_device: String,
    /// Where the far end plays (`meter`: measures level and timing marks; `audio:<id>`: a
    /// sound card).
    #[arg(long, default_value = "meter")]
    speaker: String,
    /// Video profile: 360p, 540p, 720p or 1080p, at 15 or 30 fps (e.g. 720p30).
    #[arg(long, default_value = "360p30")]
    profile: VideoProfile,
    /// Local address for media sockets.
    #[arg(long, default_value = "0.0.0.0:0")]
    media_bind: String,
    /// Record the call on this machine into this file (fragmented MP4, H.264 + Opus: the
    /// parties' pictures as a layout and their voices mixed), from its first media to its
    /// end. A killed process leaves the file playable up to its last second.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Share this screen or window in the call from its first media (`x11:screen:0`,
    /// `x11:window:0x…`, `portal`; `switchboard-cli screens` lists them).
    #[arg(long)]
    share: Option<String>,
    /// Say this in the call's chat once media flows (what others say is in the summary).
    #[arg(long)]
    say: Option<String>,
    /// Put the far side on hold AT seconds after the first media, for FOR seconds (`AT:FOR`,
    /// e.g. `2:3`); they hear music on hold meanwhile. The summary's `hold` says what came
    /// from the far side while on hold, on either side.
    #[arg(long)]
    hold: Option<hold::HoldPlan>,
    /// The music a party we hold hears: a WAV file, looped (default: the shipped tune).
    #[arg(long)]
    hold_music: Option<std::path::PathBuf>,
    /// As the agent of a customer call: consult USER about it AT seconds after the first
    /// media (the customer is held), then, 2 s after USER answers, `transfer` (warm:
    /// USER takes the customer), `cancel` (back to the customer) or `conference` (USER joins
    /// the customer and us; our hang-up then hands the customer to USER): `USER:AT:transfer`.
    #[arg(long)]
    consult: Option<consult::ConsultPlan>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call a user (several users: a group call) and hang up after the duration.
    Call {
        #[arg(required = true)]
        users: Vec<String>,
        /// A video call (default: audio only).
        #[arg(long)]
        video: bool,
        /// Seconds to stay in the call after it is answered.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Wait for a call and answer it.
    Answer {
        /// Keep answering calls, one after another, until the duration is over.
        #[arg(long)]
        auto: bool,
        /// Seconds to stay in each call (the caller may hang up first); with `--auto`, the
        /// whole run.
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Work as an agent of the queue.
    Agent {
        /// Go ready at once.
        #[arg(long)]
        ready: bool,
        /// Accept queue calls as they are offered.
        #[arg(long)]
        auto_accept: bool,
        /// Skills (business lines), e.g. `--skill billing`.
        #[arg(long = "skill", default_value = "support")]
        skills: Vec<String>,
        /// Seconds to work before signing off.
        #[arg(long)]
        duration: Option<f64>,
        /// With `--auto-accept`: seconds to stay in each call before hanging up (default:
        /// until the customer hangs up).
        #[arg(long)]
        call_duration: Option<f64>,
    },
    /// Wait in a queue as a customer (with a customer token: `POST /auth/customer`) until an
    /// agent takes the call; stay for the duration, then hang up.
    Queue {
        /// The business (queue), e.g. `billing`.
        business: String,
        /// A video call (default: audio only).
        #[arg(long)]
        video: bool,
        /// The name the agent sees.
        #[arg(long)]
        name: Option<String>,
        /// Seconds to stay in the call after an agent took it.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Hang up after this many seconds if no agent has taken the call (a customer who
        /// gives up: the call ends `queue_abandoned`, which counts as success here).
        #[arg(long)]
        give_up: Option<f64>,
    },
    /// As a supervisor: monitor an agent's customer call (listen, whisper, barge; take the
    /// customer over), then hang up after the duration.
    Monitor {
        /// The agent.
        agent: String,
        /// How to start: listen, whisper or barge.
        #[arg(long, default_value = "listen")]
        mode: String,
        /// Later steps, timed from the start: `--at 3:whisper --at 6:barge --at 9:take-over`.
        #[arg(long = "at")]
        plan: Vec<monitor::At>,
        /// Seconds to stay after the agent answered.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// See the agent's camera too (the customer's pictures come either way).
        #[arg(long)]
        video: bool,
    },
    /// List the devices calls can use.
    Devices,
    /// List the screens and windows that can be shared (`--share`).
    Screens,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Ok(true): every call happened and ended normally.
async fn run(cli: Cli) -> Result<bool> {
    if let Command::Devices = cli.command {
        return devices(cli.json);
    }
    if let Command::Screens = cli.command {
        return screens(cli.json);
    }
    // Check the devices here so that a bad id fails before signing in.
    switchboard_media::camera::check(&cli.video_device)?;
    switchboard_media::Microphone::open(&cli.audio_device)?;
    switchboard_media::Speaker::open(&cli.speaker)?;
    let token = Token::new(cli.token.clone()).context("that token is not well-formed")?;
    let mut config = EngineConfig::new(cli.server.clone(), token);
    config.media_bind = cli.media_bind.clone();
    config.video_profile = cli.profile;
    config.camera = cli.video_device.clone();
    config.microphone = cli.audio_device.clone();
    config.speaker = cli.speaker.clone();
    if let Some(p) = &cli.hold_music {
        // A file that cannot be read fails here, not in the middle of a call.
        switchboard_media::HoldMusic::open(p)?;
        config.hold_music = Some(p.clone());
    }
    if let Some(p) = &cli.record {
        let _ = RECORD.set(p.clone());
    }
    if let Some(s) = &cli.share {
        let _ = SHARE.set(s.clone());
    }
    if let Some(s) = &cli.say {
        let _ = SAY.set(Text::new(s.clone()).context("not a message")?);
    }
    if let Some(h) = cli.hold {
        let _ = HOLD.set(h);
    }
    if let Some(c) = cli.consult.clone() {
        let _ = CONSULT.set(c);
    }
    let (engine, mut events) = Engine::start(config).await?;
    eprintln!("signed in as {}", engine.user());
    let result = match cli.command {
        Command::Call {
            users,
            video,
            duration,
        } => {
            let to = users
                .into_iter()
                .map(UserId::new)
                .collect::<Result<Vec<_>, _>>()
                .context("not a user id")?;
            let media = if video {
                CallMedia::Video
            } else {
                CallMedia::Audio
            };
            let call_id = engine.call(to, media).await?;
            eprintln!("calling… (call {call_id})");
            let s = follow(&engine, &mut events, &call_id, None, Some(secs(duration))).await?;
            report(&s, cli.json);
            s.normal()
        }
        Command::Queue {
            business,
            video,
            name,
            duration,
            give_up,
        } => {
            let business = Business::new(business).context("not a business name")?;
            let name = name.map(Label::new).transpose().context("not a name")?;
            let media = if video {
                CallMedia::Video
            } else {
                CallMedia::Audio
            };
            let call_id = engine.enqueue(business, media, name).await?;
            eprintln!("waiting in the queue… (call {call_id})");
            if let Some(g) = give_up {
                let (e, id) = (engine.clone(), call_id.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(secs(g)).await;
                    // No agent's connection yet: still waiting.
                    if e.stats(&id).await.is_empty() {
                        eprintln!("giving up");
                        e.hangup(&id);
                    }
                });
            }
            let s = follow(&engine, &mut events, &call_id, None, Some(secs(duration))).await?;
            report(&s, cli.json);
            s.normal() || (give_up.is_some() && s.end_reason.code == EndCode::QueueAbandoned)
        }
        Command::Answer { auto, duration } => {
            answer_loop(
                &engine,
                &mut events,
                auto,
                duration.map(secs),
                None,
                cli.json,
                false,
            )
            .await?
        }
        Command::Agent {
            ready,
            auto_accept,
            skills,
            duration,
            call_duration,
        } => {
            let skills = skills
                .into_iter()
                .map(|b| {
                    Ok(Skill {
                        business: Business::new(b)?,
                        level: 1,
                    })
                })
                .collect::<Result<Vec<_>, switchboard_protocol::InvalidString>>()
                .context("not a business name")?;
            engine.send_raw(ClientMessage::AgentRegister(AgentRegister {
                profile: AgentProfile {
                    area: Label::new("cli").context("label")?,
                    skills,
                    display_name: None,
                },
            }));
            if ready {
                engine.send_raw(ClientMessage::SetAgentState(SetAgentState {
                    state: AgentAvailability::Ready,
                    after_call: false,
                }));
            }
            answer_loop(
                &engine,
                &mut events,
                auto_accept,
                duration.map(secs),
                call_duration.map(secs),
                cli.json,
                true,
            )
            .await?
        }
        Command::Monitor {
            agent,
            mode,
            plan,
            duration,
            video,
        } => {
            let options = monitor::Options {
                mode,
                plan,
                stay: secs(duration),
                media: if video {
                    CallMedia::Video
                } else {
                    CallMedia::Audio
                },
            };
            monitor::run(&engine, &mut events, &agent, options, cli.json).await?
        }
        Command::Devices | Command::Screens => unreachable!("handled above"),
    };
    engine.shutdown();
    // Let the engine say goodbye to the server.
    tokio::time::sleep(Duration::from_millis(150)).await;
    Ok(result)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn report(s: &Summary, json: bool) {
    eprintln!("{}", s.human());
    if json {
        println!("{}", s.json());
    }
}

fn devices(json: bool) -> Result<bool> {
    let list = switchboard_media::devices::all_devices();
    if json {
        println!("{}", serde_json::to_string(&list)?);
    } else {
        for d in &list {
            println!(
                "{:<11} {:<10} {}",
                format!("{:?}", d.kind).to_lowercase(),
                d.id,
                d.name
            );
        }
    }
    Ok(true)
}

fn screens(json: bool) -> Result<bool> {
    let list = switchboard_media::screen::sources()?;
    if json {
        println!("{}", serde_json::to_string(&list)?);
    } else {
        for s in &list {
            println!("{:<22} {:>4}×{:<4} {}", s.id, s.width, s.height, s.name);
        }
    }
    Ok(true)
}

/// Answers incoming calls: one (then returns), or with `keep_going` every call until the
/// duration ends. Agents take only queue calls.
async fn answer_loop(
    engine: &Engine,
    events: &mut UnboundedReceiver<Event>,
    keep_going: bool,
    duration: Option<Duration>,
    call_stay: Option<Duration>,
    json: bool,
    agent: bool,
) -> Result<bool> {
    let started = Instant::now();
    let end = duration.map(|d| started + d);
    let mut all_normal = true;
    let mut answered_any = false;
    loop {
        let Some(ev) = next_event(events, end).await? else {
            return Ok(all_normal && (answered_any || keep_going));
        };
        match ev {
            Event::Incoming {
                call_id,
                from,
                kind,
                consult,
                ..
            } => {
                eprintln!("incoming {kind:?} call {call_id} from {from}");
                if let Some(c) = &consult {
                    eprintln!("a consult about {}'s call {}", c.customer, c.call_id);
                }
                if agent && kind != CallKind::Queue && consult.is_none() {
                    eprintln!("not a queue call: declining");
                    engine.hangup(&call_id);
                    continue;
                }
                if agent && !keep_going {
                    continue; // offered, left to ring (no --auto-accept)
                }
                // Stay for the per-call duration; without one, until the caller hangs up.
                let per_call = if keep_going { call_stay } else { duration };
                let s = follow(engine, events, &call_id, Some(&from), per_call).await?;
                report(&s, json);
                answered_any = true;
                all_normal &= s.normal();
                if !keep_going {
                    return Ok(all_normal);
                }
            }
            Event::Closed { reason: why } => bail!("signed out by the server: {why}"),
            Event::Server { message: m } if agent => {
                eprintln!("{}", switchboard_protocol::encode(&m))
            }
            _ => {}
        }
    }
}

/// Follows one call to its end. As the callee (`from` given), answers once the transport is up
/// (set up while ringing; at most 2 s). Hangs up `stay` after the answer.
/// `--record PATH`, for every call this process follows.
static RECORD: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
/// `--share SOURCE`, likewise.
static SHARE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// `--say TEXT`, likewise.
static SAY: std::sync::OnceLock<Text> = std::sync::OnceLock::new();
/// `--hold AT:FOR`, likewise.
static HOLD: std::sync::OnceLock<hold::HoldPlan> = std::sync::OnceLock::new();
/// `--consult USER:AT:THEN`, for customer calls this process follows.
static CONSULT: std::sync::OnceLock<consult::ConsultPlan> = std::sync::OnceLock::new();

async fn follow(
    engine: &Engine,
    events: &mut UnboundedReceiver<Event>,
    call_id: &CallId,
    from: Option<&UserId>,
    stay: Option<Duration>,
) -> Result<Summary> {
    let mut answered: Option<Instant> = None;
    // What the others said in the call's chat.
    let mut chat = Vec::new();
    // The media path: up, lost and restored, from the start of following the call.
    let mut path = PathWatch::new();
    // The first picture and the first sound; the summary uses the picture when there is one.
    let mut first: (Option<Instant>, Option<Instant>) = (None, None);
    // `--record`, `--share`, `--say` start once, at the first media of any kind.
    let mut started = false;
    let ring_deadline = Instant::now() + Duration::from_secs(2);
    let mut holds = hold::HoldWatch::new(HOLD.get().copied());
    let mut consults = consult::ConsultWatch::new(CONSULT.get().cloned());
    loop {
        let now = Instant::now();
        let wake = match (from, answered, stay) {
            (Some(_), None, _) => Some(ring_deadline),
            (_, Some(a), Some(s)) => Some(a + s),
            _ => None,
        };
        let wake = [wake, holds.due(), consults.due()]
            .into_iter()
            .flatten()
            .min();
        let Some(ev) = next_event(events, wake).await? else {
            let t = Instant::now();
            if holds.due().is_some_and(|d| d <= t) || consults.due().is_some_and(|d| d <= t) {
                holds.fire(engine, call_id, t).await;
                consults.fire(engine, call_id, t).await;
                continue;
            }
            // The wake-up came first.
            if from.is_some() && answered.is_none() {
                eprintln!("answering (transport not ready after 2 s)");
                answered = Some(Instant::now());
                engine.accept(call_id);
                continue;
            }
            eprintln!("hanging up");
            engine.hangup(call_id);
            answered.get_or_insert(now);
            // Wait for the end without re-arming.
            let mut s = finish(events, call_id, answered, first.0.or(first.1), chat).await?;
            s.media_path = path.summary();
            return Ok(s);
        };
        consults.event(&ev, Instant::now());
        match ev {
            Event::TransportReady { call_id: c, user } if &c == call_id => {
                if path.ready() {
                    eprintln!("media path to {user} is back");
                }
                if from.is_some() && answered.is_none() {
                    answered = Some(Instant::now());
                    engine.accept(call_id);
                    eprintln!("answered");
                }
            }
            Event::TransportLost { call_id: c, user } if &c == call_id => {
                path.lost();
                eprintln!("no media path to {user}: reconnecting");
            }
            Event::MemberJoined {
                call_id: c,
                user,
                at,
            } if &c == call_id => {
                eprintln!("{user} joined");
                answered.get_or_insert(at);
            }
            Event::FirstMedia {
                call_id: c,
                kind,
                at,
                user,
            } if &c == call_id => {
                eprintln!("first {kind} from {user}");
                if !std::mem::replace(&mut started, true) {
                    holds.media_started(Instant::now());
                    consults.media_started(Instant::now());
                    if let Some(path) = RECORD.get() {
                        match engine
                            .start_recording(
                                call_id,
                                path,
                                switchboard_media::RecordOptions::default(),
                            )
                            .await
                        {
                            Ok(()) => eprintln!("recording into {}", path.display()),
                            Err(e) => eprintln!("not recording: {e}"),
                        }
                    }
                    if let Some(text) = SAY.get() {
                        engine.send_call_message(call_id, text.clone());
                    }
                    if let Some(source) = SHARE.get() {
                        match engine.share_screen(call_id, source).await {
                            Ok(()) => eprintln!("sharing {source}"),
                            Err(e) => eprintln!("not sharing: {e}"),
                        }
                    }
                }
                match kind {
                    "video" => {
                        first.0.get_or_insert(at);
                    }
                    "audio" => {
                        first.1.get_or_insert(at);
                    }
                    _ => {}
                }
            }
            Event::ScreenShareEnded { call_id: c, reason } if &c == call_id => {
                eprintln!(
                    "screen share ended{}",
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                );
            }
            Event::RecordingStopped {
                call_id: c,
                summary,
            } if &c == call_id => {
                eprintln!(
                    "recording stopped: {} ms, {} bytes{}",
                    summary.duration_ms,
                    summary.bytes,
                    summary.error.map(|e| format!(" ({e})")).unwrap_or_default()
                );
            }
            Event::Stats { call_id: c, peers } if &c == call_id => {
                path.routes(&peers);
                for p in &peers {
                    eprintln!(
                        "{}: video sent {} decoded {} lost {} {}x{} @{} kbit/s | audio sent {} decoded {} lost {} {:.0} dBFS",
                        p.user,
                        p.video.sent,
                        p.video.decoded,
                        p.video.lost,
                        p.video.width,
                        p.video.height,
                        p.video.send_bps / 1000,
                        p.audio.sent,
                        p.audio.decoded,
                        p.audio.lost,
                        p.audio.level_dbfs
                    );
                }
            }
            Event::CallMessage {
                call_id: c,
                from,
                text,
            } if &c == call_id => {
                eprintln!("{from} says: {text}");
                chat.push(format!("{from}: {text}"));
            }
            Event::Hold {
                call_id: c, by, on, ..
            } if &c == call_id => {
                eprintln!("{} by {by}", if on { "on hold" } else { "off hold" });
                holds.told(engine, call_id, on, Instant::now()).await;
            }
            Event::Ended {
                call_id: c,
                reason,
                answered: a,
                at,
                stats,
                hold_count,
                hold_ms,
            } if &c == call_id => {
                let mut s = Summary::new(reason, a.or(answered), first.0.or(first.1), at, &stats);
                s.chat = chat;
                s.media_path = path.summary();
                s.hold = holds.summary;
                (s.hold.count, s.hold.ms) = (hold_count, hold_ms);
                s.consult = consults.summary;
                return Ok(s);
            }
            Event::Closed { reason: why } => bail!("signed out by the server: {why}"),
            Event::DeviceFailed { kind, id, reason } => {
                eprintln!("{kind:?} {id} failed: {reason}; the call goes on without it");
            }
            _ => {}
        }
    }
}

/// Follows a call's media path for its summary.
struct PathWatch {
    start: Instant,
    up: bool,
    down: bool,
    lost: u32,
    restored: u32,
    first_lost: Option<Instant>,
    restored_after: Option<Duration>,
    route: Option<switchboard_engine::Route>,
}

impl PathWatch {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            up: false,
            down: false,
            lost: 0,
            restored: 0,
            first_lost: None,
            restored_after: None,
            route: None,
        }
    }

    /// The route the members' stats report now.
    fn routes(&mut self, peers: &[switchboard_engine::PeerStats]) {
        use switchboard_engine::Route;
        let routes: Vec<Route> = peers.iter().filter_map(|p| p.route).collect();
        if !routes.is_empty() {
            self.route = Some(if routes.contains(&Route::Relay) {
                Route::Relay
            } else {
                Route::Direct
            });
        }
    }

    /// The path is up; whether it came back from a loss.
    fn ready(&mut self) -> bool {
        self.up = true;
        let back = std::mem::replace(&mut self.down, false);
        if back {
            self.restored += 1;
            if self.restored_after.is_none() {
                self.restored_after = self.first_lost.map(|t| t.elapsed());
            }
        }
        back
    }

    fn lost(&mut self) {
        self.down = true;
        self.lost += 1;
        self.first_lost.get_or_insert_with(Instant::now);
    }

    fn summary(&self) -> summary::MediaPath {
        let ms = |d: Duration| d.as_millis() as u64;
        summary::MediaPath {
            up: self.up,
            lost: self.lost,
            lost_after_ms: self.first_lost.map(|t| ms(t.duration_since(self.start))),
            restored: self.restored,
            restored_after_ms: self.restored_after.map(ms),
            down_at_end: self.down || !self.up,
            route: self.route,
        }
    }
}

async fn finish(
    events: &mut UnboundedReceiver<Event>,
    call_id: &CallId,
    answered: Option<Instant>,
    first_frame: Option<Instant>,
    chat: Vec<String>,
) -> Result<Summary> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ev = next_event(events, Some(deadline))
            .await?
            .context("the call did not end within 10 s of hanging up")?;
        if let Event::Ended {
            call_id: c,
            reason,
            answered: a,
            at,
            stats,
            hold_count,
            hold_ms,
        } = ev
            && &c == call_id
        {
            let mut s = Summary::new(reason, a.or(answered), first_frame, at, &stats);
            s.chat = chat;
            (s.hold.count, s.hold.ms) = (hold_count, hold_ms);
            return Ok(s);
        }
    }
}

/// The next event, or `None` once `until` has passed without one.
async fn next_event(
    events: &mut UnboundedReceiver<Event>,
    until: Option<Instant>,
) -> Result<Option<Event>> {
    let ev = match until {
        Some(t) => {
            let left = t.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv()).await {
                Ok(ev) => ev,
                Err(_) => return Ok(None),
            }
        }
        None => events.recv().await,
    };
    ev.map(Some).context("the engine stopped")
}
