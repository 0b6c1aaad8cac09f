// A customer's call from the browser: our signaling protocol over the server's WebSocket and
// the browser's own WebRTC. The browser offers (audio, camera, and a screen m-line that stays
// silent until the customer shares), so the agent's transport comes up while it rings.
import {
  PROTOCOL_VERSION,
  type CallMedia,
  type ClientMessage,
  type IceCandidate,
  type MediaState,
  type ServerFrame,
} from "../generated/protocol";

export type Phase = "idle" | "connecting" | "waiting" | "calling" | "in_call" | "ended";

export interface ChatLine {
  from: string;
  text: string;
  mine: boolean;
}

export interface MediaFigures {
  /** Camera pictures decoded from the agent. */
  videoDecoded: number;
  width: number;
  height: number;
  /** Total energy of the agent's voice played (WebRTC `totalAudioEnergy`). */
  audioEnergy: number;
  /** From the agent's answer to the first decoded picture, ms. */
  firstFrameMs: number | null;
  /** What the SDP negotiation settled on: `kind mime fmtp` of each codec in use. */
  codecs: string[];
}

export interface StartOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7700` (the page's own origin by default). */
  server: string;
  /** Wait in this queue… */
  business?: string;
  /** …or call this user directly, signed in with an account of ours (customers may only
   * wait in queues: the server refuses their invites). */
  callUser?: string;
  login?: { user: string; password: string };
  name: string;
  media: CallMedia;
}

/** How long to wait for local ICE candidates before the offer goes without the rest. */
const GATHER_MS = 1500;

function wsUrl(server: string): string {
  const u = new URL("/ws", server);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/** `start` stopped because the customer hung up meanwhile. */
class Cancelled extends Error {}

export class WidgetCall {
  phase = $state<Phase>("idle");
  /** Our place in the queue (1: next) and how many wait. */
  position = $state<{ position: number; waiting: number } | null>(null);
  agent = $state<string | null>(null);
  chat = $state<ChatLine[]>([]);
  end = $state<{ code: string; side: string } | null>(null);
  error = $state<string | null>(null);
  sharing = $state(false);
  remoteStream = $state<MediaStream | null>(null);
  remoteScreen = $state<MediaStream | null>(null);
  localStream = $state<MediaStream | null>(null);
  /** What the agent says of their media (screen share, recording). */
  remoteState = $state<MediaState | null>(null);
  /** The agent holds the call (the music comes over the agent's own audio track): since when,
   * on this page's clock. */
  heldSince = $state<number | null>(null);
  /** The media path is down (or was never found): the browser restarts ICE meanwhile. */
  mediaLost = $state(false);
  /** The path the media takes, from the selected candidate pair: `direct` or `relay`. */
  route = $state<"direct" | "relay" | null>(null);
  /** The agent's side's candidates as this browser knows them (`relay 203.0.113.1`, …):
   * what of the agent's network it learned. */
  remoteCandidates = $state<string[]>([]);
  /** What the browser counts of the agent's media (its own `getStats()`), every second. */
  stats = $state<MediaFigures>({ videoDecoded: 0, width: 0, height: 0, audioEnergy: 0, firstFrameMs: null, codecs: [] });
  /** When the agent answered (ms, `performance.now()`). */
  private answeredAt: number | null = null;
  private statsTimer: ReturnType<typeof setTimeout> | null = null;
  /** Refreshes the token before it runs out (the service ends a session whose token did). */
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** The service's clock minus ours: its expiry times read on a visitor's clock that is off. */
  private skewMs = 0;

  private ws: WebSocket | null = null;
  /** Where and as whom we connected, and the session to resume after a lost socket. */
  private server = "";
  /** The service's nodes as its `hello` announced them (several nodes): a lost socket
   * resumes on the next. Only the service names them, never the page's address. */
  private nodes: string[] = [];
  private nodeAt = 0;
  /** The last numbered frame read: a resume asks for the ones after it (they may have gone
   * into the socket that died). */
  private lastSeq: number | null = null;
  private token = "";
  private sessionId: string | null = null;
  private resumeWindowMs = 0;
  /** A reconnection under way (one at a time). */
  private reconnecting: Promise<void> | null = null;
  private pc: RTCPeerConnection | null = null;
  private callId: string | null = null;
  private me: string | null = null;
  private media: CallMedia = "audio";
  private screenSender: RTCRtpSender | null = null;
  private screenTrack: MediaStreamTrack | null = null;
  /** What we send: clones of the preview's tracks, off until an agent takes the call. */
  private sendTracks: MediaStream | null = null;
  /** Whom the connection was negotiated with (an agent who let the call ring out had
   * answered our first offer; the next one starts afresh). */
  private pcPeer: string | null = null;
  /** Our candidates found before we know whom they are for (the agent, once answered). */
  private pendingIce: RTCIceCandidate[] = [];
  private waiters = new Map<number, { done: (f: ServerFrame) => void; fail: (e: Error) => void }>();
  private nextId = 1;
  /** STUN/TURN servers the service announced. */
  private iceServers: RTCIceServer[] = [];
  /** The realm wants media through the relay only (the agent never sees our address). */
  private relayOnly = false;
  /** We made the connection's first offer: we restart its ICE when its path is lost. */
  private weOffered = false;
  /** The next ICE restart, and when a lost path is given up. */
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private giveUpTimer: ReturnType<typeof setTimeout> | null = null;
  /** Frames are handled one after another (an offer's answer before the next frame). */
  private handling: Promise<void> = Promise.resolve();
  /** A share being picked (the browser's picker is open). */
  private picking = false;

  /** The customer hung up (or it failed) meanwhile: each `await` of `start` may outlive it. */
  private over(): boolean {
    return this.phase === "ended";
  }

  private stillWanted(): void {
    if (this.over()) throw new Cancelled();
  }

  /** Gets a token, connects, and queues (or calls) with our offer. */
  async start(o: StartOptions): Promise<void> {
    this.phase = "connecting";
    this.error = null;
    this.media = o.media;
    try {
      const business = o.business ?? "";
      const r = o.login
        ? await fetch(new URL("/auth/login", o.server), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(o.login),
          })
        : await fetch(new URL("/auth/customer", o.server), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ business }),
          });
      const body = await r.json();
      if (!r.ok) throw new Error(body.message ?? `HTTP ${r.status}`);
      this.stillWanted();
      await this.connect(o.server, body.token);
      this.stillWanted();
      const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: o.media === "video" });
      if (this.over()) {
        for (const t of local.getTracks()) t.stop();
        return;
      }
      // Nothing of the customer goes out until an agent has taken the call (an agent who
      // only rings gets silence and black); the preview shows the camera meanwhile.
      this.localStream = local;
      this.sendTracks = local.clone();
      for (const t of this.sendTracks.getTracks()) t.enabled = false;
      const offer = await this.makeOffer(this.sendTracks);
      this.stillWanted();
      if (o.callUser) {
        this.agent = o.callUser;
        const reply = await this.request({
          type: "invite",
          to: [{ user: o.callUser, offer }],
          media: o.media,
        });
        if (reply.type === "call_created") this.callId = reply.call_id;
        this.phase = "calling";
      } else {
        const reply = await this.request({
          type: "enqueue",
          business,
          media: o.media,
          priority: 0,
          name: o.name || undefined,
          offer,
        });
        if (reply.type === "queued") {
          this.callId = reply.call_id;
          this.position = { position: reply.position, waiting: reply.position };
        }
        this.phase = "waiting";
      }
    } catch (e) {
      if (!(e instanceof Cancelled)) this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  /** Opens the WebSocket and says hello; with a session of ours, resumes it (its calls go on:
   * the engine's rule, `docs/protocol.md` "Session"). */
  private connect(server: string, token: string, url = wsUrl(server)): Promise<void> {
    this.server = server;
    this.token = token;
    const resume = this.sessionId;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onopen = () =>
        ws.send(
          JSON.stringify({
            type: "hello",
            v: PROTOCOL_VERSION,
            token,
            client: { name: "switchboard-widget", version: "1", platform: "browser" },
            // Nothing read yet is "seen 0": every numbered frame kept comes again.
            ...(resume ? { resume, seen: this.lastSeq ?? 0 } : {}),
          }),
        );
      ws.onerror = () => reject(new Error("cannot reach the service"));
      ws.onclose = () => {
        reject(new Error("the connection to the service closed"));
        // A socket we replaced says nothing; a call in progress tries to resume.
        if (ws !== this.ws || this.phase === "ended" || this.phase === "idle") return;
        if (this.sessionId) void this.reconnect();
        else this.fail("the connection to the service closed");
      };
      ws.onmessage = (m) => {
        if (ws !== this.ws) return;
        const f = JSON.parse(String(m.data)) as ServerFrame;
        if (f.frame_seq !== undefined) this.lastSeq = f.frame_seq;
        if (f.type === "hello") {
          if (resume && !f.resumed) {
            // The window passed, or the service forgot us: our call is over.
            this.sessionId = null;
            reject(new Error("the connection to the service was lost"));
            return;
          }
          if (!f.resumed) this.lastSeq = null;
          this.sessionId = f.session_id;
          this.resumeWindowMs = f.resume_window_secs * 1000;
          this.me = f.user;
          this.skewMs = f.server_time - Date.now();
          this.refreshIn(f.token_expires_at - f.server_time);
          this.iceServers = f.ice_servers.map((s) => ({
            urls: s.urls,
            username: s.username,
            credential: s.credential,
          }));
          this.relayOnly = f.relay_only ?? false;
          this.nodes = f.nodes ?? [];
          resolve();
          return;
        }
        if (f.type === "error" && !f.id) {
          reject(new Error(f.message));
        }
        this.handling = this.handling
          .then(() => this.onFrame(f))
          .catch((e) => {
            console.error(`handling ${f.type}:`, String(e));
            // A negotiation that failed leaves no media: end rather than show a dead call.
            if (f.type === "sdp") {
              this.sendHangup();
              this.fail(`the media connection could not be set up (${String(e)})`);
            }
          });
      };
    });
  }

  private send(m: ClientMessage, id?: number): void {
    // Nothing goes out while a socket is being replaced (a restart follows the resume).
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(id ? { id, ...m } : m));
  }

  /** After the media path was lost: is the service still there? A socket that stays silent
   * for 1 s (an address change leaves TCP hanging on the old one) is replaced: a live service
   * answers within a round trip, and a false alarm costs only a resume. */
  private async probeSignaling(): Promise<void> {
    if (this.reconnecting || !this.ws) return;
    const silent = new Promise<"silent">((r) => setTimeout(() => r("silent"), 1000));
    const reply = await Promise.race([this.request({ type: "ping" }).catch(() => "silent" as const), silent]);
    if (reply !== "silent" || this.over()) return;
    const old = this.ws;
    this.ws = null;
    old?.close();
    await this.reconnect();
  }

  /** Opens a new socket and resumes the session, then makes the lost restart offer again.
   * One at a time; a socket lost again during the restart starts the next. */
  private reconnect(): Promise<void> {
    this.reconnecting ??= this.resume()
      .finally(() => (this.reconnecting = null))
      .then((resumed) => (resumed ? this.offerAgain() : undefined));
    return this.reconnecting;
  }

  /** Tries every second (each node in turn) for as long as the service keeps the session;
   * false: given up. */
  private async resume(): Promise<boolean> {
    const until = Date.now() + Math.max(this.resumeWindowMs, 5000);
    for (;;) {
      if (this.over()) return false;
      // Our own address first, then each node the service announced, in turn.
      const urls = [wsUrl(this.server), ...this.nodes.filter((n) => n !== wsUrl(this.server))];
      const url = urls[this.nodeAt++ % urls.length];
      try {
        await this.connect(this.server, this.token, url);
        this.nodeAt = 0;
        return true;
      } catch (e) {
        if (!this.sessionId || Date.now() > until) {
          this.fail(e instanceof Error ? e.message : String(e));
          return false;
        }
        // The next node at once; a round of them all without luck waits a second.
        await new Promise((r) => setTimeout(r, this.nodeAt % urls.length === 0 ? 1000 : 100));
      }
    }
  }

  /** An offer that went out on the dead socket never arrived: take it back, offer anew. */
  private async offerAgain(): Promise<void> {
    const pc = this.pc;
    if (!pc || !this.mediaLost || !this.weOffered) return;
    if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.restartIce(pc);
  }

  /** Sends a request and waits for the frame that answers it. */
  private request(m: ClientMessage): Promise<ServerFrame> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, {
        done: (f) => (f.type === "error" ? reject(new Error(f.message)) : resolve(f)),
        fail: reject,
      });
      this.send(m, id);
    });
  }

  /** A peer connection with our handlers (its transceivers come from our offer or theirs). */
  private connection(offering = false): RTCPeerConnection {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers,
      iceTransportPolicy: this.relayOnly ? "relay" : "all",
    });
    this.pc = pc;
    this.weOffered = offering;
    this.mediaLost = false;
    // The agent's tracks share one stream id: sort them by m-line instead. The third is the
    // agent's screen, shown while they say they share.
    const remote = new MediaStream();
    pc.ontrack = (e) => {
      if (e.transceiver === pc.getTransceivers()[2]) {
        this.screenTrack = e.track;
        if (this.remoteState?.screen) this.remoteScreen = new MediaStream([e.track]);
        return;
      }
      remote.addTrack(e.track);
      this.remoteStream = remote;
    };
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) this.trickle(e.candidate);
    };
    pc.onconnectionstatechange = () => {
      if (pc === this.pc) this.pathChanged(pc);
    };
    return pc;
  }

  /** How long a lost path may stay lost before the call is given up. */
  static readonly GIVE_UP_MS = 30_000;

  /** The media path came up, or went down: say so, and (as the offering side, like the
   * engine's rule) restart ICE — 0.5 s after `disconnected`, at once after `failed`, again
   * every 5 s — until it is back or given up. The answering side waits for the agent's. */
  private pathChanged(pc: RTCPeerConnection): void {
    const s = pc.connectionState;
    if (s === "connected") {
      this.mediaLost = false;
      for (const t of [this.restartTimer, this.giveUpTimer]) if (t) clearTimeout(t);
      this.restartTimer = this.giveUpTimer = null;
      return;
    }
    if (s !== "disconnected" && s !== "failed") return;
    if (!this.mediaLost) void this.probeSignaling();
    this.mediaLost = true;
    this.giveUpTimer ??= setTimeout(() => {
      if (pc === this.pc && this.mediaLost) {
        this.sendHangup();
        this.fail("the media connection failed and did not come back");
      }
    }, WidgetCall.GIVE_UP_MS);
    if (this.weOffered && !this.restartTimer)
      this.restartTimer = setTimeout(() => void this.restartIce(pc), s === "failed" ? 0 : 500);
  }

  private async restartIce(pc: RTCPeerConnection): Promise<void> {
    this.restartTimer = null;
    if (pc !== this.pc || !this.mediaLost || !this.callId || !this.agent) return;
    // One offer at a time: one still out is followed by the next try.
    if (pc.signalingState === "stable") {
      pc.restartIce();
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription?.sdp ?? "";
      this.send({ type: "sdp", call_id: this.callId, to: this.agent, kind: "offer", sdp });
    }
    this.restartTimer = setTimeout(() => void this.restartIce(pc), 5_000);
  }

  private async makeOffer(local: MediaStream): Promise<string> {
    const pc = this.connection(true);
    const [audio] = local.getAudioTracks();
    const [video] = local.getVideoTracks();
    pc.addTransceiver(audio ?? "audio", { direction: "sendrecv", streams: [local] });
    pc.addTransceiver(video ?? "video", {
      direction: this.media === "video" ? "sendrecv" : "inactive",
      streams: [local],
    });
    // The screen's m-line: silent until we share (replaceTrack needs no renegotiation).
    this.screenSender = pc.addTransceiver("video", { direction: "sendrecv" }).sender;
    await pc.setLocalDescription(await pc.createOffer());
    // The first candidates ride in the offer (whom to trickle them to is not known while we
    // wait in the queue); late ones follow once the agent answers.
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const done = () => pc.iceGatheringState === "complete" && resolve();
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_MS);
    });
    this.pendingIce = [];
    return pc.localDescription?.sdp ?? "";
  }

  /** Answers an offer on a new connection: our tracks on its m-lines, in order. */
  private async answerWith(pc: RTCPeerConnection, sdp: string): Promise<void> {
    await pc.setRemoteDescription({ type: "offer", sdp });
    const local = this.sendTracks;
    const [audio] = local?.getAudioTracks() ?? [];
    const [video] = local?.getVideoTracks() ?? [];
    const t = pc.getTransceivers();
    for (const [i, track] of [audio, video].entries()) {
      const tr = t[i];
      if (!tr) continue;
      tr.direction = i === 1 && this.media !== "video" ? "inactive" : "sendrecv";
      if (track) await tr.sender.replaceTrack(track);
      if (local) tr.sender.setStreams(local);
    }
    if (t[2]) {
      t[2].direction = "sendrecv";
      this.screenSender = t[2].sender;
    }
    await pc.setLocalDescription(await pc.createAnswer());
  }

  private trickle(c: RTCIceCandidate): void {
    if (!this.callId || !this.agent || this.phase === "waiting") {
      this.pendingIce.push(c);
      return;
    }
    const candidate: IceCandidate = { candidate: c.candidate };
    if (c.sdpMid) candidate.sdp_mid = c.sdpMid;
    if (c.sdpMLineIndex !== null) candidate.sdp_mline_index = c.sdpMLineIndex;
    if (c.usernameFragment) candidate.username_fragment = c.usernameFragment;
    this.send({ type: "ice_candidate", call_id: this.callId, to: this.agent, candidate });
  }

  private async onFrame(f: ServerFrame): Promise<void> {
    if (f.id && this.waiters.has(f.id)) {
      this.waiters.get(f.id)?.done(f);
      this.waiters.delete(f.id);
      return;
    }
    switch (f.type) {
      case "queue_position":
        this.position = { position: f.position, waiting: f.waiting };
        break;
      case "member_update":
        if (f.user !== this.me && f.state === "joined") {
          this.agent = f.user;
          this.phase = "in_call";
          this.answeredAt = performance.now();
          for (const t of this.sendTracks?.getTracks() ?? []) t.enabled = true;
          this.flushIce();
          if (!this.statsTimer) void this.pollStats();
        }
        break;
      case "sdp":
        if (!this.pc) break;
        this.agent = f.from;
        if (f.kind === "answer") {
          this.pcPeer = f.from;
          await this.pc.setRemoteDescription({ type: "answer", sdp: f.sdp });
          this.flushIce();
        } else {
          // The agent offers: a re-offer (audio↔video) on this connection, or the agent who
          // took the call after another let it ring out (that one had our offer and answered
          // it): a new connection answers them. (Renegotiating the old one is no way: Chromium
          // refuses an offer that maps RTP header extensions to other ids than it used.)
          const fresh = this.pc.signalingState === "have-local-offer" || this.pcPeer !== f.from;
          this.pcPeer = f.from;
          if (fresh) {
            this.pc.close();
            this.pendingIce = [];
            await this.answerWith(this.connection(), f.sdp);
          } else {
            await this.pc.setRemoteDescription({ type: "offer", sdp: f.sdp });
            await this.pc.setLocalDescription(await this.pc.createAnswer());
          }
          const sdp = this.pc.localDescription?.sdp ?? "";
          if (this.callId) this.send({ type: "sdp", call_id: this.callId, to: f.from, kind: "answer", sdp });
        }
        break;
      case "ice_candidate":
        if (this.pc && f.candidate)
          await this.pc
            .addIceCandidate({
              candidate: f.candidate.candidate,
              sdpMid: f.candidate.sdp_mid ?? null,
              sdpMLineIndex: f.candidate.sdp_mline_index ?? null,
              usernameFragment: f.candidate.username_fragment ?? null,
            })
            .catch(() => undefined);
        break;
      case "media_state":
        this.remoteState = f.state;
        this.remoteScreen = f.state.screen && this.screenTrack ? new MediaStream([this.screenTrack]) : null;
        break;
      case "call_hold":
        this.heldSince = f.on ? Date.now() : null;
        break;
      case "call_message":
        // Ours are in the list already.
        if (f.from !== this.me) this.chat.push({ from: f.from, text: f.text, mine: false });
        break;
      case "call_ended":
        this.finish(f.reason.code, f.reason.side);
        break;
      case "session_ended":
        this.fail(f.message);
        break;
      case "token_refreshed":
        this.token = f.token;
        this.refreshIn(f.expires_at - (Date.now() + this.skewMs));
        break;
    }
  }

  /** Asks for a fresh token after four fifths of what is left of this one. */
  private refreshIn(leftMs: number): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (leftMs <= 0) return;
    this.refreshTimer = setTimeout(() => this.send({ type: "refresh_token" }), (leftMs * 4) / 5);
  }

  /** Reads the stats every 10 ms until the first picture (its time is a figure we report),
   * then every 250 ms. */
  private async pollStats(): Promise<void> {
    await this.readStats();
    if (!this.pc) return;
    // Fast for the first picture's time, for 5 s at most (an audio call has none).
    const fast =
      this.stats.firstFrameMs === null && this.answeredAt !== null && performance.now() - this.answeredAt < 5000;
    const next = fast ? 10 : 250;
    this.statsTimer = setTimeout(() => void this.pollStats(), next);
  }

  /** The browser's own counts of what came from the agent. */
  private async readStats(): Promise<void> {
    if (!this.pc) return;
    const screenMid = this.pc.getTransceivers()[2]?.mid;
    const next = { ...this.stats };
    const report = await this.pc.getStats();
    const codecs = new Set<string>();
    report.forEach((r) => {
      if ((r.type === "inbound-rtp" || r.type === "outbound-rtp") && r.codecId) {
        const c = report.get(r.codecId);
        if (c) codecs.add(`${r.type === "inbound-rtp" ? "in" : "out"} ${c.mimeType} pt=${c.payloadType} ${c.sdpFmtpLine ?? ""}`.trim());
      }
    });
    next.codecs = [...codecs].sort();
    report.forEach((r) => {
      if (r.type !== "inbound-rtp") return;
      if (r.kind === "video" && r.mid !== screenMid) {
        next.videoDecoded = r.framesDecoded ?? 0;
        next.width = r.frameWidth ?? 0;
        next.height = r.frameHeight ?? 0;
      } else if (r.kind === "audio") {
        next.audioEnergy = r.totalAudioEnergy ?? 0;
      }
    });
    if (next.videoDecoded > 0 && next.firstFrameMs === null && this.answeredAt !== null)
      next.firstFrameMs = Math.round(performance.now() - this.answeredAt);
    this.stats = next;
    const remote = new Set<string>();
    report.forEach((c) => {
      if (c.type === "remote-candidate") remote.add(`${c.candidateType} ${c.address ?? c.ip ?? "?"}`);
    });
    this.remoteCandidates = [...remote].sort();
    // The route: relayed when either end of the selected candidate pair is a relay candidate.
    report.forEach((t) => {
      if (t.type !== "transport" || !t.selectedCandidatePairId) return;
      const pair = report.get(t.selectedCandidatePairId);
      const ends = [report.get(pair?.localCandidateId), report.get(pair?.remoteCandidateId)];
      if (pair) this.route = ends.some((c) => c?.candidateType === "relay") ? "relay" : "direct";
    });
  }

  private flushIce(): void {
    const pending = this.pendingIce;
    this.pendingIce = [];
    for (const c of pending) this.trickle(c);
  }

  async say(text: string): Promise<void> {
    if (!text.trim() || !this.callId) return;
    this.send({ type: "call_message", call_id: this.callId, text });
    this.chat.push({ from: this.me ?? "", text, mine: true });
  }

  /** Shares a screen or window (the browser's own picker) on the silent m-line. */
  async shareScreen(): Promise<void> {
    if (!this.screenSender || !this.callId || this.picking || this.sharing) return;
    this.picking = true;
    let track: MediaStreamTrack | undefined;
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      [track] = display.getVideoTracks();
      // The call may have ended while the browser's picker was open.
      if (!track || this.phase !== "in_call" || !this.screenSender) {
        track?.stop();
        return;
      }
      track.onended = () => void this.stopShare();
      await this.screenSender.replaceTrack(track);
      this.sharing = true;
      this.tellState();
    } catch (e) {
      track?.stop();
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      this.picking = false;
    }
  }

  async stopShare(): Promise<void> {
    const track = this.screenSender?.track;
    await this.screenSender?.replaceTrack(null);
    track?.stop();
    this.sharing = false;
    this.tellState();
  }

  private tellState(): void {
    if (!this.callId) return;
    const local = this.localStream;
    this.send({
      type: "media_state",
      call_id: this.callId,
      state: {
        audio: local?.getAudioTracks().some((t) => t.enabled) ?? false,
        video: this.media === "video" && (local?.getVideoTracks().some((t) => t.enabled) ?? false),
        screen: this.sharing,
        recording: false,
      },
    });
  }

  /** The page goes away (tab closed, frame removed): end the call now, not after the
   * server's resume window. */
  leave(): void {
    if (this.phase !== "idle" && this.phase !== "ended") this.hangup();
  }

  /** Tells the service we leave: hang up, or cancel while waiting or ringing. */
  private sendHangup(): void {
    if (!this.callId) return;
    const id = this.callId;
    this.send(this.phase === "in_call" ? { type: "hangup", call_id: id } : { type: "cancel", call_id: id });
  }

  hangup(): void {
    this.sendHangup();
    if (this.phase !== "in_call") this.finish("cancelled", "local");
  }

  private finish(code: string, side: string): void {
    if (this.phase === "ended") return;
    this.end = { code, side };
    this.phase = "ended";
    this.close();
  }

  private fail(message: string): void {
    if (this.phase === "ended") return;
    this.error = message;
    this.phase = "ended";
    this.close();
  }

  private close(): void {
    for (const w of this.waiters.values()) w.fail(new Cancelled());
    this.waiters.clear();
    for (const t of this.sendTracks?.getTracks() ?? []) t.stop();
    if (this.statsTimer) clearTimeout(this.statsTimer);
    this.statsTimer = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const t of this.localStream?.getTracks() ?? []) t.stop();
    this.screenSender?.track?.stop();
    this.pc?.close();
    this.pc = null;
    const ws = this.ws;
    this.ws = null;
    // Let the hang-up leave first.
    setTimeout(() => ws?.close(), 200);
  }
}
