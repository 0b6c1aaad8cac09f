import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import App from "./App.svelte";
import { tauriBackend, type AudioStats, type PeerStats, type UiEvent, type VideoStats } from "./lib/backend";
import { PROTOCOL_VERSION } from "./generated/protocol";

afterEach(() => {
  cleanup();
  clearMocks();
});

const INFO = { name: "Switchboard", version: "9.8.7", protocol_version: PROTOCOL_VERSION, platform: "linux-x86_64", profile: null };
const ACCOUNT = { user: "a1", role: "agent", server: "http://127.0.0.1:7700" };

type Args = Record<string, unknown> | undefined;

const CODEC = {
  build: "cisco",
  ready: false,
  notice: "OpenH264 Video Codec provided by Cisco Systems, Inc.",
  license_url: "https://www.openh264.org/BINARY_LICENSE.txt",
  version: "2.6.0",
  url: "http://ciscobinary.openh264.org/libopenh264-2.6.0-linux64.8.so.bz2",
  approx_bytes: 634000,
};

/** A backend that answers like Rust does, recording every command. */
function fakeRust(signedIn: boolean, extra: (cmd: string, args: Args) => unknown = () => undefined) {
  const calls: { cmd: string; args: Args }[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: args as Args });
      const answer = extra(cmd, args as Args);
      if (answer !== undefined) return answer;
      switch (cmd) {
        case "app_info":
          return INFO;
        case "account":
          return signedIn ? ACCOUNT : null;
        case "settings":
          return {
            server: "127.0.0.1:7700",
            user: "a1",
            camera: "pattern",
            microphone: "tone",
            speaker: "meter",
            video_profile: "360p30",
            auto_answer: "off",
            screen_pop_url: "",
            screen_pop_command: "",
            ringer: "",
            ring_volume: 80,
            announce_tone: true,
            language: "en",
            shortcuts: { global: true, answer: "CommandOrControl+Alt+A", hangup: "CommandOrControl+Alt+H", mute: "" },
            recordings_dir: "",
            record_media: "both",
            record_watermark: true,
          };
        case "devices":
          return [
            { id: "pattern", name: "Test pattern", kind: "camera", synthetic: true },
            { id: "tone", name: "Tone", kind: "microphone", synthetic: true },
            { id: "meter", name: "Meter", kind: "speaker", synthetic: true },
          ];
        case "video_endpoint":
          return { url: "ws://127.0.0.1:9", secret: "x" };
        case "set_preferences":
        case "set_device":
        case "mic_meter":
        case "invite":
        case "send_file":
        case "open_file":
        case "transfer":
        case "share_screen":
        case "hold":
          return null;
        case "consult":
          return "k-1";
        case "screen_sources":
          return [
            { id: "x11:screen:0", name: "Screen 1", kind: "screen", width: 1920, height: 1080, thumbnail: "data:image/jpeg;base64,AA==" },
            { id: "x11:window:0x400001", name: "Order 7731 — CRM", kind: "window", width: 800, height: 600, thumbnail: null },
          ];
        case "test_sound":
          return { device: "meter", played_ms: 1120, level_dbfs: -15.2 };
        case "history":
          return [];
        case "ui_ready":
        case "accept":
        case "hangup":
        case "mute":
          return null;
        case "sign_in":
          return ACCOUNT;
        case "update_status":
          return { state: "idle" };
        case "codec_status":
          return { ...CODEC, build: "source", ready: true };
      }
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const send = (e: UiEvent) => emit("console", e);

/** The app, with a call from `from` ringing and answered by the answer key. */
async function answeredCall(callId: string, from: string, kind: "direct" | "queue" = "direct", fromName: string | null = null) {
  render(App, { props: { backend: tauriBackend } });
  await screen.findByTestId("app-version");
  await send({ type: "incoming", call_id: callId, from, from_name: fromName, kind, media: "audio", members: [], queue: null, consult: null, monitor: null });
  await send({ type: "shortcut", action: "answer" });
  await screen.findByTestId("hangup");
}

describe("the console", () => {
  it("shows the build reported by Rust and tells Rust it is ready", async () => {
    const calls = fakeRust(false);
    render(App, { props: { backend: tauriBackend } });
    expect(await screen.findByTestId("app-version")).toHaveProperty("textContent", "9.8.7");
    expect(screen.getByTestId("protocol-version").textContent).toBe(`v${PROTOCOL_VERSION}`);
    await vi.waitFor(() => expect(calls.map((c) => c.cmd)).toContain("ui_ready"));
  });

  it("says so when the backend fails, instead of hanging", async () => {
    mockIPC(() => {
      throw new Error("no backend");
    });
    render(App, { props: { backend: tauriBackend } });
    expect((await screen.findByRole("alert")).textContent).toContain("no backend");
  });

  it("signs in with what the agent typed and shows a refused password plainly", async () => {
    let refuse = true;
    const calls = fakeRust(false, (cmd) => {
      if (cmd === "sign_in" && refuse) throw { code: "denied", message: "wrong user or password" };
      return undefined;
    });
    render(App, { props: { backend: tauriBackend } });
    const form = await screen.findByTestId("sign-in");
    const password = form.querySelector("input[name=password]") as HTMLInputElement;
    await vi.waitFor(() => expect((form.querySelector("input[name=user]") as HTMLInputElement).value).toBe("a1"));
    await fireEvent.input(password, { target: { value: "a1" } });
    await fireEvent.click(screen.getByTestId("sign-in-submit"));
    expect((await screen.findByRole("alert")).textContent).toContain("wrong user or password");
    refuse = false;
    await fireEvent.click(screen.getByTestId("sign-in-submit"));
    expect(await screen.findByTestId("dial-to")).toBeTruthy();
    const signIn = calls.filter((c) => c.cmd === "sign_in").at(-1);
    expect(signIn?.args).toEqual({ server: "127.0.0.1:7700", user: "a1", password: "a1" });
  });

  it("rings for an incoming queue call and answers it with a click", async () => {
    const calls = fakeRust(true);
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("dial-to");
    await send({
      type: "incoming",
      call_id: "c-42",
      from: "cust-1",
      from_name: "Ann",
      kind: "queue",
      media: "video",
      members: ["cust-1", "a1"],
      queue: { business: "billing", priority: 0, waited_ms: 12_000 },
      consult: null,
      monitor: null,
    });
    const toast = await screen.findByTestId("incoming");
    expect(toast.textContent).toContain("Ann");
    expect(toast.textContent).toContain("billing");
    await fireEvent.click(screen.getByTestId("accept-video"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "accept")?.args).toEqual({ callId: "c-42", media: null }),
    );
    expect((await screen.findByTestId("call")).dataset.phase).toBe("connected");
    expect(screen.queryByTestId("incoming")).toBeNull();
  });

  it("mutes, hangs up, and shows why the call ended", async () => {
    const calls = fakeRust(true);
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("dial-to");
    await send({ type: "incoming", call_id: "c-7", from: "bob", from_name: null, kind: "direct", media: "audio", members: ["bob", "a1"], queue: null, consult: null, monitor: null });
    await fireEvent.click(await screen.findByTestId("accept-audio"));
    await fireEvent.click(await screen.findByTestId("mute"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "mute")?.args).toEqual({ callId: "c-7", audio: true, video: false }),
    );
    await vi.waitFor(() => expect(screen.getByTestId("mute").getAttribute("aria-pressed")).toBe("true"));
    await fireEvent.click(screen.getByTestId("hangup"));
    await vi.waitFor(() => expect(calls.some((c) => c.cmd === "hangup")).toBe(true));
    const historyLoads = calls.filter((c) => c.cmd === "history").length;
    await send({ type: "ended", call_id: "c-7", reason: { code: "hangup", side: "local" }, stats: [], hold_count: 0, hold_ms: 0 });
    await vi.waitFor(() => expect(screen.getByTestId("call-phase").textContent).toContain("by you"));
    // The history reloads once the call is written.
    await vi.waitFor(() => expect(calls.filter((c) => c.cmd === "history").length).toBeGreaterThan(historyLoads));
  });

  it("saves auto-answer and the screen pop from the settings", async () => {
    const calls = fakeRust(true);
    render(App, { props: { backend: tauriBackend } });
    await fireEvent.click(await screen.findByTestId("open-settings"));
    const auto = (await screen.findByTestId("auto-answer")) as HTMLSelectElement;
    await fireEvent.change(auto, { target: { value: "queue" } });
    const url = screen.getByPlaceholderText(/crm.example/) as HTMLInputElement;
    await fireEvent.input(url, { target: { value: "https://crm.example/c/{caller}" } });
    const volume = screen.getByTestId("ring-volume") as HTMLInputElement;
    await fireEvent.input(volume, { target: { value: "35" } });
    await fireEvent.click(screen.getByTestId("global-keys"));
    await fireEvent.click(screen.getByText("Save"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "set_preferences")?.args).toEqual({
        preferences: {
          auto_answer: "queue",
          screen_pop_url: "https://crm.example/c/{caller}",
          screen_pop_command: "",
          ringer: "",
          ring_volume: 35,
          announce_tone: true,
          language: "en",
          shortcuts: { global: false, answer: "CommandOrControl+Alt+A", hangup: "CommandOrControl+Alt+H", mute: "" },
          recordings_dir: "",
          record_media: "both",
          record_watermark: true,
        },
      }),
    );
  });

  it("runs the microphone meter while the settings are open and tests the speaker", async () => {
    const calls = fakeRust(true);
    const view = render(App, { props: { backend: tauriBackend } });
    await fireEvent.click(await screen.findByTestId("open-settings"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "mic_meter")?.args).toEqual({ on: true, device: null }));
    await send({ type: "mic_level", dbfs: -23.4 });
    await vi.waitFor(() => expect((screen.getByTestId("mic-level") as HTMLMeterElement).value).toBeCloseTo(-23.4));
    await fireEvent.click(screen.getByTestId("test-speaker"));
    expect((await screen.findByTestId("speaker-played")).textContent).toBe("Played 1120 ms (-15.2 dBFS)");
    expect(calls.find((c) => c.cmd === "test_sound")?.args).toEqual({ cue: "speaker_test", device: "meter" });
    await fireEvent.click(screen.getByLabelText("Close"));
    await vi.waitFor(() =>
      expect(calls.filter((c) => c.cmd === "mic_meter").map((c) => (c.args as { on: boolean }).on)).toEqual([true, false]),
    );
    view.unmount();
  });

  it("answers a ringing call from a global key", async () => {
    const calls = fakeRust(true);
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("app-version");
    await send({
      type: "incoming",
      call_id: "c-9",
      from: "cust",
      from_name: null,
      kind: "queue",
      media: "audio",
      members: [],
      queue: null,
      consult: null,
      monitor: null,
    });
    await send({ type: "shortcut", action: "answer" });
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "accept")?.args).toEqual({ callId: "c-9", media: null }));
  });

  it("invites more people into a call in progress", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-10", "bob");
    await fireEvent.click(await screen.findByTestId("invite"));
    const to = (await screen.findByTestId("invite-to")) as HTMLInputElement;
    await fireEvent.input(to, { target: { value: "carol, dave bob" } });
    await fireEvent.click(screen.getByTestId("invite-send"));
    // Bob is in the call already: only the newcomers are invited.
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "invite")?.args).toEqual({ callId: "c-10", users: ["carol", "dave"] }),
    );
  });

  it("sends a file to the call and opens one received", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-11", "bob");
    const input = (await screen.findByTestId("send-file")) as HTMLInputElement;
    const file = new File([new Uint8Array([1, 2, 3, 4])], "报价单.pdf");
    await fireEvent.change(input, { target: { files: [file] } });
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "send_file")).toBeTruthy());
    const body = calls.find((c) => c.cmd === "send_file")?.args as unknown as Uint8Array;
    expect(Array.from(body)).toEqual([1, 2, 3, 4]);
    // bob's file waits for the agent's yes: nothing is asked of Rust until then.
    await send({ type: "file_offered", call_id: "c-11", from: "bob", id: "f7", name: "form.pdf", size: 1_400_000 });
    expect(await screen.findByText("1.4 MB")).toBeTruthy();
    expect(calls.find((c) => c.cmd === "answer_file")).toBeFalsy();
    await fireEvent.click(await screen.findByTestId("file-accept"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "answer_file")?.args).toEqual({ callId: "c-11", from: "bob", id: "f7", accept: true }),
    );
    await send({ type: "file_received", call_id: "c-11", from: "bob", name: "form.pdf", path: "/d/received/form.pdf" });
    await fireEvent.click(await screen.findByText("Open"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "open_file")?.args).toEqual({ path: "/d/received/form.pdf" }));
    // Declined, or refused on the way: the line says so and there is nothing to open.
    await send({ type: "file_offered", call_id: "c-11", from: "bob", id: "f8", name: "tool.exe", size: 10 });
    await fireEvent.click(await screen.findByTestId("file-decline"));
    await vi.waitFor(() => expect(calls.filter((c) => c.cmd === "answer_file").at(-1)?.args).toMatchObject({ id: "f8", accept: false }));
    expect(await screen.findByText("declined")).toBeTruthy();
    await send({ type: "file_offered", call_id: "c-11", from: "bob", id: "f9", name: "big.bin", size: 10 });
    await fireEvent.click(await screen.findByTestId("file-accept"));
    await send({ type: "file_failed", call_id: "c-11", from: "bob", name: "big.bin", reason: "more bytes came than the file announced; it was not kept" });
    expect(await screen.findByText(/more bytes came/)).toBeTruthy();
  });

  it("transfers a customer back into a queue", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-12", "cust-1", "queue", "Ann");
    await fireEvent.click(await screen.findByTestId("transfer"));
    await fireEvent.change(screen.getByLabelText("Transfer to"), { target: { value: "queue" } });
    await fireEvent.input(screen.getByTestId("transfer-to"), { target: { value: "billing" } });
    await fireEvent.click(screen.getByTestId("transfer-send"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "transfer")?.args).toEqual({
        transfer: { call_id: "c-12", to: { kind: "queue", business: "billing" } },
      }),
    );
  });

  it("holds, consults a colleague, completes a warm transfer, and shows a hold's timer", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-20", "cust-1", "queue", "Ann");
    await fireEvent.click(await screen.findByTestId("hold"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "hold")?.args).toEqual({ callId: "c-20", on: true }));
    await send({ type: "hold", call_id: "c-20", by: "a1", on: true, since: 1, count: 1 });
    expect((await screen.findByTestId("hold-indicator")).textContent).toContain("On hold 00:0");
    expect(screen.getByTestId("hold").textContent).toContain("Resume");
    // Consult first: a call of its own, about Ann; then the customer goes to the colleague.
    await fireEvent.click(screen.getByTestId("transfer"));
    await fireEvent.change(screen.getByLabelText("Transfer to"), { target: { value: "consult" } });
    await fireEvent.input(screen.getByTestId("transfer-to"), { target: { value: "a2" } });
    await fireEvent.click(screen.getByTestId("transfer-send"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "consult")?.args).toEqual({ callId: "c-20", to: "a2" }));
    expect((await screen.findByTestId("consulting")).textContent).toContain("a2");
    expect((await screen.findByTestId("consult-about")).textContent).toContain("Ann");
    await fireEvent.click(screen.getByTestId("complete-transfer"));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "transfer")?.args).toEqual({ transfer: { call_id: "c-20", to: { kind: "consulted" } } }),
    );
    // Held by the other side: said, and our hold button waits.
    await send({ type: "hold", call_id: "c-20", by: "a1", on: false, since: 1, count: 1 });
    await send({ type: "hold", call_id: "c-20", by: "cust-1", on: true, since: 2, count: 2 });
    expect((await screen.findByTestId("hold-indicator")).textContent).toContain("cust-1 put you on hold");
  });

  it("makes a consult a conference, and leaving it hangs up the customer call (the server hands it over)", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-21", "cust-1", "queue", "Ann");
    await fireEvent.click(await screen.findByTestId("transfer"));
    await fireEvent.change(screen.getByLabelText("Transfer to"), { target: { value: "consult" } });
    await fireEvent.input(screen.getByTestId("transfer-to"), { target: { value: "a2" } });
    await fireEvent.click(screen.getByTestId("transfer-send"));
    await fireEvent.click(await screen.findByTestId("conference"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "conference")?.args).toEqual({ callId: "c-21" }));
    await send({ type: "conference", call_id: "k-9", of: "c-21" });
    expect((await screen.findByTestId("in-conference")).textContent).toContain("a2");
    expect(screen.queryByTestId("complete-transfer")).toBeNull();
    await fireEvent.click(screen.getByTestId("leave-conference"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "hangup")?.args).toEqual({ callId: "c-21" }));
  });

  it("watches the floor as a supervisor: the wallboard's queues, agents and clocks, and the agent's own figures", async () => {
    const sup = { user: "sup", role: "supervisor", server: "http://127.0.0.1:7700" };
    const calls = fakeRust(true, (cmd) =>
      cmd === "monitor" ? "k-1" : ["watch_floor", "set_monitor", "take_over"].includes(cmd) ? null : cmd === "account" ? sup : undefined,
    );
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("app-version");
    await send({ type: "signed_in", ...sup, resumed: false } as UiEvent);
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "watch_floor")?.args).toEqual({ on: true }));
    const board = {
      type: "wallboard", at: 1, team: "front", window_mins: 60, service_level_secs: 20, service_level_goal_pct: 80,
      queues: [{ business: "sales", waiting: 2, longest_wait_ms: 61_000, agents_ready: 0, agents_working: 1, answered: 3,
        answered_in_time: 2, abandoned: 1, handled: 3, service_level_pct: 50, abandon_pct: 25, aht_ms: 125_000 }],
      agents: [{ user: "a1", name: "Wang", team: "front", state: { status: "in_call", call_id: "c-1" }, state_ms: 5_000,
        call: { call_id: "c-1", business: "sales", customer: "Ann", talk_ms: 5_000, on_hold: true, consulting: false },
        figures: { handled: 3, aht_ms: 125_000, window_mins: 60 } }],
    };
    await send({ type: "server", message: board } as unknown as UiEvent);
    const row = await screen.findByTestId("board-queue");
    expect(row.textContent).toContain("sales");
    expect(row.textContent).toContain("01:01");
    expect(row.textContent).toContain("50 %");
    expect(row.textContent).toContain("02:05");
    const agent = screen.getByTestId("board-agent");
    expect(agent.dataset.state).toBe("in_call");
    expect(agent.textContent).toContain("Ann");
    expect(agent.textContent).toContain("on hold");
    // Whisper to a1 from the board: a monitor call; then barge, then take the customer over.
    await fireEvent.click(screen.getByTestId("supervise-whisper"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "monitor")?.args).toEqual({ agent: "a1", mode: "whisper" }));
    await send({ type: "member_joined", call_id: "k-1", user: "a1" } as unknown as UiEvent);
    await send({ type: "monitor", call_id: "k-1", of: "c-1", mode: "whisper" });
    const chip = await screen.findByTestId("monitoring");
    expect(chip.dataset.mode).toBe("whisper");
    expect(chip.textContent).toContain("a1");
    await fireEvent.click(screen.getByTestId("monitor-barge"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "set_monitor")?.args).toEqual({ callId: "k-1", mode: "barge" }));
    await fireEvent.click(screen.getByTestId("take-over"));
    await vi.waitFor(() => expect(calls.find((c) => c.cmd === "take_over")?.args).toEqual({ callId: "k-1" }));
    // A supervisor takes customers too: the queue panel shows their own figures.
    await send({ type: "server", message: { type: "cti", figures: { waiting: 0, agents: 1, agents_ready: 1, agents_working: 0,
      longest_wait_ms: 0 }, waiting: [], own: { handled: 4, aht_ms: 90_000, window_mins: 60 } } } as unknown as UiEvent);
    expect((await screen.findByTestId("own-handled")).textContent).toBe("4");
    expect(screen.getByTestId("own-aht").textContent).toBe("01:30");
  });

  it("shares a window picked by its thumbnail, shows the far side's screen large, and says why a share stopped", async () => {
    const calls = fakeRust(true);
    await answeredCall("c-13", "bob");
    await fireEvent.click(screen.getByTestId("share-screen"));
    const sources = await screen.findAllByTestId("screen-source");
    expect(sources.map((s) => s.textContent)).toEqual([
      expect.stringContaining("Screen 1"),
      expect.stringContaining("Order 7731 — CRM"),
    ]);
    const [whole, crm] = sources as [HTMLElement, HTMLElement];
    expect(whole.querySelector("img")?.getAttribute("src")).toBe("data:image/jpeg;base64,AA==");
    await fireEvent.click(crm);
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "share_screen")?.args).toEqual({ callId: "c-13", source: "x11:window:0x400001" }),
    );
    expect((await screen.findByTestId("share-indicator")).textContent).toContain("Order 7731 — CRM");
    expect(screen.queryByTestId("screen-picker")).toBeNull();
    // What the share costs and loses: the screen track's own figures, not the camera's.
    const track = (v: Partial<VideoStats> = {}): VideoStats => ({
      sent: 0, skipped: 0, received: 0, decoded: 0, in_order: 0, lost: 0, dropped: 0, keyframes_requested: 0,
      keyframe_requests_received: 0, forwarded: 0, far_loss: 0, target_bps: 0, send_bps: 0, remote_estimate_bps: 0,
      latency_ms_p50: null, width: 0, height: 0, negotiated: true, ...v,
    });
    const audio: AudioStats = {
      sent: 0, received: 0, decoded: 0, fec: 0, concealed: 0, lost: 0, late: 0, jitter_ms: 0, marks: 0, tones: [0, 0, 0, 0],
      latency_ms_p50: null, level_dbfs: -90, recent_level_dbfs: -90,
    };
    const peer = (screenStats: VideoStats): PeerStats => ({
      user: "bob", video: track({ send_bps: 900_000 }), screen: screenStats, audio, rtt_ms: 20, quality: 5, route: "relay",
    });
    await send({ type: "stats", call_id: "c-13", peers: [peer(track({ send_bps: 1_200_000, skipped: 3, far_loss: 0.025 }))] });
    expect((await screen.findByTestId("share-stats")).textContent).toBe("1200 kbit/s · 3 pictures skipped · 2.5% lost");
    // The network indicator says the media goes through a relay.
    expect(screen.getByTestId("route").textContent).toBe("via relay");
    expect(screen.getByTestId("quality").getAttribute("aria-label")).toBe("Network quality 5/5, via relay");
    // And so do the settings, while the call goes on.
    await fireEvent.click(await screen.findByTestId("open-settings"));
    expect((await screen.findByTestId("settings-route")).textContent?.trim()).toBe(
      "Network: the call in progress goes through the relay server",
    );
    // The window closed: the share is off and the agent is told why.
    await send({ type: "screen_share_ended", call_id: "c-13", reason: "the shared window was closed" });
    await vi.waitFor(() => expect(screen.queryByTestId("share-indicator")).toBeNull());
    expect(document.body.textContent).toContain("Screen share stopped: the shared window was closed");
    // Bob shares: his screen gets its own large tile, even in an audio call.
    await send({ type: "member_joined", call_id: "c-13", user: "bob" });
    await send({ type: "remote_media_state", call_id: "c-13", user: "bob", state: { audio: true, video: false, screen: true, recording: false } });
    expect(await screen.findByText("bob's screen")).toBeTruthy();
    await send({ type: "stats", call_id: "c-13", peers: [peer(track({ decoded: 140, lost: 2 }))] });
    expect((await screen.findByTestId("share-in-stats")).textContent).toBe("140 pictures · 2 lost");
    await send({ type: "remote_media_state", call_id: "c-13", user: "bob", state: { audio: true, video: false, screen: false, recording: false } });
    await vi.waitFor(() => expect(screen.queryByText("bob's screen")).toBeNull());
  });

  it("shows a member whose media path is lost until it is back", async () => {
    fakeRust(true);
    await answeredCall("c-20", "bob");
    expect(screen.queryByTestId("path-lost")).toBeNull();
    await send({ type: "transport_lost", call_id: "c-20", user: "bob" });
    expect((await screen.findByTestId("path-lost")).textContent).toBe("No media with bob: reconnecting…");
    await send({ type: "transport_ready", call_id: "c-20", user: "bob" });
    await vi.waitFor(() => expect(screen.queryByTestId("path-lost")).toBeNull());
  });

  it("says why nothing can be shared", async () => {
    fakeRust(true, (cmd) => {
      if (cmd === "screen_sources") throw { code: "screen", message: "no display to capture (DISPLAY is not set)" };
      return undefined;
    });
    await answeredCall("c-14", "bob");
    await fireEvent.click(screen.getByTestId("share-screen"));
    expect((await screen.findByTestId("screen-picker-error")).textContent).toContain("DISPLAY is not set");
    await fireEvent.click(screen.getByTestId("screen-picker-cancel"));
    expect(screen.queryByTestId("screen-picker")).toBeNull();
  });

  it("offers an update, downloads it, holds the install during a call, and shows a refusal", async () => {
    const update = { version: "9.8.8", current: "9.8.7", notes: null, date: null };
    const calls = fakeRust(true, (cmd) => {
      if (cmd === "update_status") return { state: "available", update };
      if (cmd === "download_update") return { state: "ready", update };
      return undefined;
    });
    await answeredCall("c-15", "bob");
    expect((await screen.findByTestId("update-text")).textContent).toBe("Switchboard 9.8.8 is available (you have 9.8.7).");
    await fireEvent.click(screen.getByTestId("update-download"));
    await vi.waitFor(() => expect(screen.getByTestId("update").dataset.state).toBe("ready"));
    expect(calls.map((c) => c.cmd)).toContain("download_update");
    // In a call: installing (which restarts the app) waits.
    expect((screen.getByTestId("update-install") as HTMLButtonElement).disabled).toBe(true);
    await send({ type: "ended", call_id: "c-15", reason: { code: "call_completed", side: "local" }, stats: [], hold_count: 0, hold_ms: 0 });
    await vi.waitFor(() => expect((screen.getByTestId("update-install") as HTMLButtonElement).disabled).toBe(false));
    // Rust's verdict on a tampered file arrives as an event and is shown as it is.
    const message = "The update was refused: its signature does not match Switchboard's signing key.";
    await emit("update", { state: "failed", message });
    await vi.waitFor(() => expect(screen.getByTestId("update-text").textContent).toBe(message));
  });

  it("asks before downloading Cisco's codec, with Cisco's notice, and says why a download failed", async () => {
    let fail = true;
    const calls = fakeRust(false, (cmd) => {
      if (cmd === "codec_status") return CODEC;
      if (cmd === "codec_download") {
        if (fail) throw { code: "codec", message: "refused: its SHA-256 is 00, expected 2f — nothing was installed" };
        return { ...CODEC, ready: true };
      }
      return undefined;
    });
    render(App, { props: { backend: tauriBackend } });
    const strip = await screen.findByTestId("codec");
    expect(strip.textContent).toContain("OpenH264 Video Codec provided by Cisco Systems, Inc.");
    expect(strip.textContent).toContain("about 0.6 MB");
    expect(screen.getByTestId("codec-url").textContent).toBe(CODEC.url);
    // Nothing is fetched before the click.
    expect(calls.map((c) => c.cmd)).not.toContain("codec_download");
    await fireEvent.click(screen.getByTestId("codec-download"));
    expect((await screen.findByTestId("codec-error")).textContent).toContain("nothing was installed");
    // "Later" hides it until a video call needs the codec.
    await fireEvent.click(screen.getByText("Later"));
    expect(screen.queryByTestId("codec")).toBeNull();
    await send({ type: "incoming", call_id: "c-16", from: "bob", from_name: null, kind: "direct", media: "video", members: [], queue: null, consult: null, monitor: null });
    expect((await screen.findByTestId("codec-needed")).textContent).toContain("cannot send or show pictures");
    fail = false;
    await fireEvent.click(screen.getByTestId("codec-download"));
    await vi.waitFor(() => expect(screen.queryByTestId("codec")).toBeNull());
  });

  it("asks nothing about the codec in a build that has it built in", async () => {
    fakeRust(false);
    render(App, { props: { backend: tauriBackend } });
    await screen.findByTestId("app-version");
    expect(screen.queryByTestId("codec")).toBeNull();
  });

  it("checks for updates on request and turns Cisco's codec off and on again in the settings", async () => {
    let ready = true;
    const calls = fakeRust(true, (cmd) => {
      if (cmd === "check_update") return { state: "up_to_date", current: "9.8.7" };
      if (cmd === "codec_status") return { ...CODEC, ready };
      if (cmd === "codec_remove") return { ...CODEC, ready: (ready = false) };
      if (cmd === "codec_download") return { ...CODEC, ready: (ready = true) };
      return undefined;
    });
    render(App, { props: { backend: tauriBackend } });
    await fireEvent.click(await screen.findByTestId("open-settings"));
    await fireEvent.click(await screen.findByTestId("check-update"));
    await vi.waitFor(() =>
      expect(screen.getByTestId("check-update-result").textContent).toBe("Switchboard 9.8.7 is up to date."),
    );
    expect(screen.getByTestId("codec-setting").textContent).toContain("OpenH264 Video Codec provided by Cisco Systems, Inc.");
    await fireEvent.click(screen.getByTestId("codec-remove"));
    await fireEvent.click(await screen.findByTestId("codec-enable"));
    await screen.findByTestId("codec-remove");
    expect(calls.map((c) => c.cmd).filter((c) => c.startsWith("codec_") && c !== "codec_status")).toEqual([
      "codec_remove",
      "codec_download",
    ]);
  });
});
