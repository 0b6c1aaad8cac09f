// The console's state in the webview: what Rust told us (events) and what the agent did
// (commands). Components read it; only `apply` and the actions below change it.
import type { AgentState, AgentStateUpdate, CallKind, CallMedia, Cti, MonitorMode, QueueContext, Wallboard } from "../generated/protocol";
import type { Account, Backend, PeerStats, ScreenSource, UiEvent } from "./backend";
import { errorText } from "./backend";
import { t } from "./i18n.svelte";

export type CallPhase = "ringing_in" | "calling" | "connected" | "ended";

export interface ChatLine {
  from: string;
  text: string;
  at: number;
  mine: boolean;
  /** A file: where it was saved (received) and how far it got. `offer`: the id of a file
   *  offered to us that waits for the agent's yes or no; `failed`: why it did not arrive. */
  file?: { name: string; path: string; done: number; total: number; offer?: string; failed?: string };
}

export interface LiveCall {
  id: string;
  direction: "outgoing" | "incoming";
  /** The other members. */
  peers: string[];
  /** Members whose pictures/voice we have. */
  joined: string[];
  media: CallMedia;
  kind: CallKind;
  queue: QueueContext | null;
  fromName: string | null;
  phase: CallPhase;
  startedAt: number;
  answeredAt: number | null;
  muted: { audio: boolean; video: boolean };
  /** A customer call: the consult we are holding about it now (its call id and colleague). */
  consult: { id: string; with: string; conference?: boolean } | null;
  /** The colleague's side of a consult that became a conference: the customer call. */
  conferenceOf?: string | null;
  /** A consult: the customer call it is about (ours, or the colleague's who calls us). */
  consultOf: { id: string; customer: string; business: string | null } | null;
  /** The hold on the call now: who holds it (`mine`: we do) and since when (our clock). */
  hold: { by: string; mine: boolean; since: number } | null;
  /** A monitor call of ours (we supervise): the agent, how we take part, their customer call. */
  monitor: { agent: string; mode: MonitorMode; of: string | null } | null;
  /** A customer call of ours that a supervisor monitors, where the realm says so. */
  monitoredBy: { call: string; by: string; mode: MonitorMode } | null;
  /** What each member said of their own media (muted, camera off…). */
  remote: Record<string, { audio: boolean; video: boolean; screen: boolean; recording: boolean }>;
  /** Our own recording of the call. */
  recording: { on: boolean; paused: boolean; path: string };
  /** What we share in the call (a source's name), if anything. */
  sharing: string | null;
  stats: PeerStats[];
  /** Members whose media path is down (the engine restarts ICE meanwhile). */
  pathLost: string[];
  chat: ChatLine[];
  end: { code: string; side: string } | null;
}

/** A call as it starts; the rest of its fields start empty. */
function liveCall(
  start: Pick<LiveCall, "id" | "direction" | "peers" | "joined" | "media" | "kind" | "queue" | "fromName" | "phase">,
): LiveCall {
  return {
    ...start,
    startedAt: Date.now(),
    answeredAt: null,
    muted: { audio: false, video: false },
    hold: null,
    monitor: null,
    monitoredBy: null,
    consult: null,
    consultOf: null,
    recording: { on: false, paused: false, path: "" },
    sharing: null,
    remote: {},
    stats: [],
    pathLost: [],
    chat: [],
    end: null,
  };
}

/** A call we place, calling until someone answers. */
function outgoing(id: string, to: string[], media: CallMedia): LiveCall {
  return liveCall({
    id,
    direction: "outgoing",
    peers: to,
    joined: [],
    media,
    kind: to.length > 1 ? "group" : "direct",
    queue: null,
    fromName: null,
    phase: "calling",
  });
}

export class ConsoleState {
  account = $state<Account | null>(null);
  connection = $state<"online" | "reconnecting" | "offline">("offline");
  calls = $state<LiveCall[]>([]);
  agent = $state<AgentStateUpdate | null>(null);
  cti = $state<Cti | null>(null);
  /** The supervisor's wallboard and when it arrived (its clocks run on from then). */
  board = $state<{ board: Wallboard; at: number } | null>(null);
  notice = $state<string | null>(null);
  historyVersion = $state(0);
  exportProgress = $state<{ done: number; total: number } | null>(null);
  /** The settings page's microphone meter, dBFS (−100 for silence). */
  micLevel = $state<number | null>(null);

  constructor(private backend: Backend) {}

  /** The call the agent works on: the newest one that is not over. */
  get current(): LiveCall | undefined {
    return this.calls.find((c) => c.phase !== "ended" && c.phase !== "ringing_in");
  }

  get ringing(): LiveCall[] {
    return this.calls.filter((c) => c.phase === "ringing_in");
  }

  find(id: string): LiveCall | undefined {
    return this.calls.find((c) => c.id === id);
  }

  private add(c: LiveCall) {
    this.calls = [c, ...this.calls.filter((x) => x.id !== c.id)].slice(0, 20);
  }

  apply(e: UiEvent): void {
    // The call an event is about, when it is about one we show.
    const c = "call_id" in e && e.call_id ? this.find(e.call_id) : undefined;
    switch (e.type) {
      case "signed_in":
        if (!e.resumed && this.account?.user !== e.user) {
          // Another account: the last one's calls and notices are not this one's.
          this.calls = [];
          this.notice = null;
        }
        this.account = { user: e.user, role: e.role, server: e.server };
        this.connection = "online";
        // A new session does not inherit the last one's subscription: ask again.
        if (supervises(e.role)) void this.run(() => this.backend.watchFloor(true));
        break;
      case "signaling_lost":
        this.connection = "reconnecting";
        break;
      case "closed":
        this.account = null;
        this.connection = "offline";
        this.agent = null;
        this.cti = null;
        this.board = null;
        this.notice = e.reason;
        break;
      case "incoming": {
        if (e.monitor) {
          // Announced (the engine drops silent ones): shown on the customer's call, which the
          // engine keeps bridging; the monitor call itself needs nothing of the agent.
          const customer = this.find(e.monitor.call_id);
          if (customer) customer.monitoredBy = { call: e.call_id, by: e.monitor.supervisor, mode: e.monitor.mode };
          break;
        }
        const about = e.consult
          ? { id: e.consult.call_id, customer: e.consult.queue.customer_name ?? e.consult.customer, business: e.consult.queue.business }
          : null;
        this.add({
          ...liveCall({
            id: e.call_id,
            direction: "incoming",
            peers: [e.from, ...e.members.filter((m) => m !== e.from && m !== this.account?.user)],
            // The caller is in the call already (no `member_joined` comes for them).
            joined: [e.from],
            media: e.media,
            kind: e.kind,
            queue: e.queue,
            fromName: e.from_name,
            phase: "ringing_in",
          }),
          consultOf: about,
        });
        break;
      }
      case "member_joined": {
        if (c) {
          if (!c.joined.includes(e.user)) c.joined.push(e.user);
          if (!c.peers.includes(e.user) && e.user !== this.account?.user) c.peers.push(e.user);
          if (c.phase === "calling") c.phase = "connected";
          c.answeredAt ??= Date.now();
        }
        break;
      }
      case "member_left": {
        if (c) c.joined = c.joined.filter((u) => u !== e.user);
        break;
      }
      case "remote_media_state": {
        if (c) c.remote[e.user] = { ...e.state };
        break;
      }
      case "monitor": {
        if (c?.monitor) {
          c.monitor.mode = e.mode;
          c.monitor.of = e.of;
        }
        const customer = this.find(e.of);
        if (customer?.monitoredBy) customer.monitoredBy.mode = e.mode;
        break;
      }
      case "hold": {
        if (c) c.hold = e.on ? { by: e.by, mine: e.by === this.account?.user, since: Date.now() } : null;
        break;
      }
      case "media_switched": {
        if (c) c.media = e.media;
        break;
      }
      case "message": {
        c?.chat.push({ from: e.from, text: e.text, at: e.at, mine: e.mine });
        break;
      }
      case "stats": {
        if (c) c.stats = e.peers;
        break;
      }
      case "conference": {
        // Ours to bridge (the agent's side), or the colleague's side of it.
        const customer = this.find(e.of);
        if (customer?.consult) customer.consult.conference = true;
        else if (c) c.conferenceOf = e.of;
        break;
      }
      case "ended": {
        // A consult that ended: its customer call is ours again.
        for (const x of this.calls) if (x.consult?.id === e.call_id) x.consult = null;
        for (const x of this.calls) if (x.monitoredBy?.call === e.call_id) x.monitoredBy = null;
        if (c) {
          c.phase = "ended";
          c.hold = null;
          c.end = { code: e.reason.code, side: e.reason.side };
        }
        this.historyVersion++;
        break;
      }
      case "history_changed":
        this.historyVersion++;
        break;
      case "export_progress":
        this.exportProgress = { done: e.done, total: e.total };
        break;
      case "server":
        if (e.message.type === "agent_state") this.agent = e.message as unknown as AgentStateUpdate;
        if (e.message.type === "cti") this.cti = e.message as unknown as Cti;
        if (e.message.type === "wallboard") this.board = { board: e.message as unknown as Wallboard, at: Date.now() };
        break;
      case "device_failed":
        this.notice = `${e.kind} ${e.id}: ${e.reason}`;
        break;
      case "error":
        this.notice = e.message;
        break;
      case "file_progress": {
        if (!c) break;
        const from = e.sending ? "" : e.user;
        const line = c.chat.find(
          (l) =>
            l.file?.name === e.name &&
            l.mine === e.sending &&
            l.from === from &&
            !l.file.failed &&
            l.file.done < l.file.total,
        );
        if (line?.file) line.file.done = e.done;
        else
          c.chat.push({
            from,
            text: e.name,
            at: Date.now(),
            mine: e.sending,
            file: { name: e.name, path: "", done: e.done, total: e.total },
          });
        break;
      }
      case "file_offered":
        if (!c) break;
        c.chat.push({
          from: e.from,
          text: e.name,
          at: Date.now(),
          mine: false,
          file: { name: e.name, path: "", done: 0, total: e.size, offer: e.id },
        });
        break;
      case "file_received":
      case "file_failed": {
        if (!c) break;
        const line = c.chat.find(
          (l) => l.file?.name === e.name && !l.mine && l.from === e.from && !l.file.path && !l.file.failed,
        );
        const file =
          e.type === "file_received"
            ? { name: e.name, path: e.path, done: 1, total: 1 }
            : { name: e.name, path: "", done: 0, total: 0, failed: e.reason };
        if (line) line.file = file;
        else c.chat.push({ from: e.from, text: e.name, at: Date.now(), mine: false, file });
        break;
      }
      case "recording":
        if (c) c.recording = { on: true, paused: e.paused, path: e.path || c.recording.path };
        break;
      case "recording_stopped":
        if (c) c.recording = { on: false, paused: false, path: e.summary.path || c.recording.path };
        // Writing failed part-way: what was written stays playable, but say so.
        if (e.summary.error) this.notice = e.summary.error;
        break;
      case "screen_share_ended":
        if (c) {
          c.sharing = null;
          // Not our choice (the shared window closed): say why.
          if (e.reason) this.notice = `${t("share.ended")}: ${e.reason}`;
        }
        break;
      case "mic_level":
        this.micLevel = e.dbfs;
        break;
      case "shortcut":
        void this.shortcut(e.action);
        break;
      case "transport_lost":
        if (c && !c.pathLost.includes(e.user)) c.pathLost.push(e.user);
        break;
      case "transport_ready":
        if (c) c.pathLost = c.pathLost.filter((u) => u !== e.user);
        break;
      case "sound":
      case "ringing":
      case "first_media":
      case "screen_share_started":
        break;
    }
  }

  /** Answer / hang up / mute, from a key in the window or a global key: the first ringing
   * call is answered as offered; hang-up takes the current call, else declines the ringing
   * one. Returns whether there was something to do. */
  shortcut(action: "answer" | "hangup" | "mute"): boolean {
    const ringing = this.ringing[0];
    const target = this.current ?? ringing;
    if (action === "answer" && ringing) void this.accept(ringing, ringing.media);
    else if (action === "hangup" && target) void this.hangup(target);
    else if (action === "mute" && this.current) void this.toggleMute(this.current, "audio");
    else return false;
    return true;
  }

  private async run<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      this.notice = errorText(e);
      return undefined;
    }
  }

  async dial(to: string[], media: CallMedia): Promise<void> {
    const id = await this.run(() => this.backend.call(to, media));
    if (!id) return;
    this.add(outgoing(id, to, media));
  }

  async accept(c: LiveCall, media: CallMedia): Promise<void> {
    await this.run(() => this.backend.accept(c.id, media === c.media ? undefined : media));
    c.phase = "connected";
    c.media = media;
    c.answeredAt = Date.now();
  }

  async hangup(c: LiveCall): Promise<void> {
    await this.run(() => this.backend.hangup(c.id));
  }

  async toggleMute(c: LiveCall, what: "audio" | "video"): Promise<void> {
    const next = { ...c.muted, [what]: !c.muted[what] };
    await this.run(() => this.backend.mute(c.id, next.audio, next.video));
    c.muted = next;
  }

  /** Hold or resume: the server decides, the `hold` event shows it. */
  async toggleHold(c: LiveCall): Promise<void> {
    await this.run(() => this.backend.hold(c.id, !c.hold));
  }

  async switchMedia(c: LiveCall): Promise<void> {
    const media: CallMedia = c.media === "video" ? "audio" : "video";
    await this.run(() => this.backend.switchMedia(c.id, media));
    c.media = media;
  }

  /** Consults a colleague about a customer call (the server holds the customer). */
  async consult(c: LiveCall, user: string): Promise<boolean> {
    const to = user.trim();
    if (!to) return false;
    const id = await this.run(() => this.backend.consult(c.id, to));
    if (!id) return false;
    this.add({
      ...outgoing(id, [to], "audio"),
      consultOf: { id: c.id, customer: c.queue?.customer_name ?? c.fromName ?? c.peers[0] ?? "", business: c.queue?.business ?? null },
    });
    const customer = this.find(c.id);
    if (customer) customer.consult = { id, with: to };
    return true;
  }

  /** As a supervisor: monitor an agent's customer call, or change how we take part in the
   *  monitor call we have with them. */
  async supervise(agent: string, mode: MonitorMode): Promise<void> {
    const open = this.calls.find((x) => x.monitor?.agent === agent && x.phase !== "ended");
    if (open) {
      await this.run(() => this.backend.setMonitor(open.id, mode));
      return;
    }
    const id = await this.run(() => this.backend.monitor(agent, mode));
    if (!id) return;
    this.add({
      // Video: the agent's camera and the customer's pictures come forwarded (we send none).
      ...outgoing(id, [agent], "video"),
      monitor: { agent, mode, of: null },
    });
  }

  /** As a supervisor: take the monitored customer over (their call comes here, answered). */
  async takeOver(c: LiveCall): Promise<void> {
    await this.run(() => this.backend.takeOver(c.id));
  }

  /** The warm transfer: the consulted colleague takes the customer. */
  async completeTransfer(c: LiveCall): Promise<void> {
    await this.run(() => this.backend.transfer({ call_id: c.id, to: { kind: "consulted" } }));
  }

  /** The conference: the consulted colleague joins us and the customer. */
  async conference(c: LiveCall): Promise<void> {
    await this.run(() => this.backend.conference(c.id));
  }

  /** Ends the consult: back to the customer (the server takes them off hold). */
  async cancelConsult(c: LiveCall): Promise<void> {
    const k = c.consult?.id;
    if (k) await this.run(() => this.backend.hangup(k));
  }

  /** Hands a customer call on: to an agent by id, or back into a business's queue. */
  async transfer(c: LiveCall, kind: "agent" | "queue", target: string): Promise<boolean> {
    const t = target.trim();
    if (!t) return false;
    const to = kind === "agent" ? { kind, user: t } : { kind, business: t };
    const ok = await this.run(async () => {
      await this.backend.transfer({ call_id: c.id, to });
      return true;
    });
    return ok ?? false;
  }

  /** Sends a file to every other member of the call. */
  async sendFile(c: LiveCall, file: File): Promise<void> {
    const data = new Uint8Array(await file.arrayBuffer());
    for (const to of c.peers.filter((p) => c.joined.includes(p))) {
      await this.run(() => this.backend.sendFile(c.id, to, file.name, data));
    }
  }

  /** The agent's answer to a file offered in the chat: nothing is received or saved without
   *  a yes. */
  async answerFile(c: LiveCall, line: ChatLine, accept: boolean): Promise<void> {
    const file = line.file;
    if (!file?.offer) return;
    const id = file.offer;
    file.offer = undefined;
    await this.run(() => this.backend.answerFile(c.id, line.from, id, accept));
    if (!accept) file.failed = t("call.file_declined");
  }

  /** Invites users (comma or space separated) into the call. */
  async invite(c: LiveCall, who: string): Promise<boolean> {
    const users = who
      .split(/[\s,，]+/)
      .map((u) => u.trim())
      .filter((u) => u && !c.peers.includes(u) && u !== this.account?.user);
    if (!users.length) return false;
    const ok = await this.run(async () => {
      await this.backend.invite(c.id, users);
      return true;
    });
    if (ok) {
      c.peers.push(...users);
      if (c.kind === "direct") c.kind = "group";
    }
    return ok ?? false;
  }

  async toggleRecording(c: LiveCall): Promise<void> {
    const on = !c.recording.on;
    const path = await this.run(() => this.backend.record(c.id, on));
    if (path !== undefined) c.recording = { on, paused: false, path: path ?? c.recording.path };
  }

  async pauseRecording(c: LiveCall): Promise<void> {
    const paused = !c.recording.paused;
    await this.run(() => this.backend.pauseRecording(c.id, paused));
    c.recording.paused = paused;
  }

  /** What can be shared; the reason as an error when nothing can. */
  async screenSources(): Promise<{ sources: ScreenSource[]; error: string | null }> {
    try {
      return { sources: await this.backend.screenSources(), error: null };
    } catch (e) {
      return { sources: [], error: errorText(e) };
    }
  }

  /** Shares a source in the call (replacing what is shared), or stops (`null`). */
  async shareScreen(c: LiveCall, source: ScreenSource | null): Promise<void> {
    const ok = await this.run(async () => {
      await this.backend.shareScreen(c.id, source?.id ?? null);
      return true;
    });
    if (ok) c.sharing = source?.name ?? null;
  }

  async say(c: LiveCall, text: string): Promise<void> {
    if (text.trim()) await this.run(() => this.backend.sendMessage(c.id, text));
  }

  async setAgent(state: AgentStateUpdate["next"] & object, afterCall = false): Promise<void> {
    await this.run(() => this.backend.agentState({ state, after_call: afterCall }));
  }

  dismiss(c: LiveCall): void {
    this.calls = this.calls.filter((x) => x.id !== c.id);
  }
}

/** How a call's media travels: through a TURN relay when any member's does (more delay, and
 * the relay's bandwidth), direct otherwise; unknown (null) until ICE chose. */
export function routeOf(stats: PeerStats[]): "direct" | "relay" | null {
  if (stats.some((s) => s.route === "relay")) return "relay";
  return stats.some((s) => s.route === "direct") ? "direct" : null;
}

/** Roles that take customers (supervisors are agents too). */
export function takesCustomers(role: string | undefined): boolean {
  return role === "agent" || role === "supervisor";
}

/** Roles that watch the floor. */
export function supervises(role: string | undefined): boolean {
  return role === "supervisor" || role === "admin";
}

/** A duration in ms as mm:ss (minutes go on past 59). */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** The agent's state as a short label key. */
export function agentLabel(s: AgentState | undefined): string {
  return s?.status ?? "offline";
}
