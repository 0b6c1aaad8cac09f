// Drives the customer widget in headless Chromium (playwright-core with Debian's chromium) for
// tests/tests/widget.rs, which plays the server, the other customer and the agent. Prints one
// JSON line per milestone on stdout; reads commands (`hangup`) on stdin.
//
// Environment: SERVER (http://127.0.0.1:PORT), BUSINESS, CHROMIUM (default /usr/bin/chromium),
// STAY_MS (how long to stay in the call before reporting the media figures), SAY (a chat line
// to send once in the call, then wait for the agent's), SHARE=1 (share the screen: Chromium's
// fake display source), CALL (call this user directly, signed in as CALLER, instead of waiting
// in the queue), WATCH=1 (while staying, a line every 200 ms with the pictures decoded so far and
// whether the media path is lost), HOLD=1 (wait for the agent to hold the call, then report what
// arrived while on hold: pictures decoded, audio energy, the notice shown), MONITOR=1 (while
// staying, a line every 500 ms with what the customer heard by ear — a Web Audio analyser on
// the received voice, counting looks with a 440 Hz or a 770 Hz hum — how many peer
// connections the page has made, counted by wrapping the constructor before the page runs, and
// the signaling frames that named a monitor, a conference, sup or a2).
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const server = process.env.SERVER;
const business = process.env.BUSINESS ?? "billing";
const stayMs = Number(process.env.STAY_MS ?? 10000);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--use-fake-device-for-media-stream=fps=30",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    // getDisplayMedia without a picker: the fake capture device stands in for the screen.
    "--auto-select-desktop-capture-source=Entire screen",
    // Media needs a secure context: in production the widget is served over HTTPS; here the
    // service is plain HTTP on a test network's address (localhost counts as secure anyway).
    `--unsafely-treat-insecure-origin-as-secure=${server}`,
  ],
});
const commands = createInterface({ input: process.stdin });
// The next command; the end of input (the test is over, or failed) reads as "quit".
let closed = false;
commands.once("close", () => (closed = true));
const next = () =>
  new Promise((resolve) => {
    if (closed) return resolve("quit");
    commands.once("line", resolve);
    commands.once("close", () => resolve("quit"));
  });
try {
  const page = await browser.newPage();
  // Every peer connection the page makes, and every signaling frame that names a monitor or
  // the supervisor, for MONITOR's report (subclasses, so the page's own code runs unchanged).
  await page.addInitScript(() => {
    const Pc = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Pc {
      constructor(...args) {
        super(...args);
        window.__pcs.push(this);
      }
    };
    const Ws = window.WebSocket;
    window.__leaks = [];
    window.WebSocket = class extends Ws {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (e) => {
          if (typeof e.data === "string" && /monitor|conference|"sup"|"a2"/.test(e.data)) window.__leaks.push(e.data);
        });
      }
    };
  });
  page.on("console", (m) => process.stderr.write(`[widget] ${m.text()}\n`));
  const call = process.env.CALL ? `&call=${encodeURIComponent(process.env.CALL)}` : "";
  const media = process.env.MEDIA ?? "video";
  await page.goto(`${server}/widget/?business=${encodeURIComponent(business)}&name=Ann&media=${media}${call}`);
  if (process.env.CALL) {
    // A direct call is made as one of our users (dev accounts: the password is the id).
    await page.fill("[data-testid=user]", process.env.CALLER ?? "carol");
    await page.fill("[data-testid=password]", process.env.CALLER ?? "carol");
  }
  await page.click("[data-testid=start]");
  const widget = page.locator("[data-testid=widget]");
  const attr = (name) => widget.getAttribute(name);

  // The queue position, each time it changes, until an agent answers.
  // (Read without waiting: a locator would wait for an element that is not there yet.)
  const state = () =>
    page.evaluate(() => ({
      phase: document.querySelector("[data-testid=widget]")?.getAttribute("data-phase"),
      position: document.querySelector("[data-testid=position]")?.getAttribute("data-position") || null,
    }));
  let last = null;
  for (;;) {
    const { phase, position: pos } = await state();
    if (phase === "in_call" || phase === "ended") break;
    if (pos && pos !== last) {
      last = pos;
      out({ position: Number(pos) });
    }
    await page.waitForTimeout(50);
  }
  const phase = await attr("data-phase");
  if (phase === "ended") {
    // Why, as the widget says it.
    out({ phase, why: await page.locator("[data-testid=ended]").innerText() });
  } else {
    out({ phase });
  }
  // The first picture from the agent (in a video call), then media for STAY_MS.
  if (media === "video") {
    await page.waitForFunction(
      () => Number(document.querySelector("[data-testid=widget]")?.getAttribute("data-video-decoded")) > 0,
      null,
      { timeout: 15000 },
    );
    out({ first_frame_ms: Number(await attr("data-first-frame-ms")) });
  }
  if (process.env.HOLD) {
    const notice = page.locator("[data-testid=on-hold]");
    await notice.waitFor({ timeout: 15000 });
    // What was in flight, and a stats reading from before the hold (read every 250 ms), pass.
    await page.waitForTimeout(800);
    const [v0, e0] = [Number(await attr("data-video-decoded")), Number(await attr("data-audio-energy"))];
    const text = await notice.innerText();
    // The last figures read while still on hold: the notice and the figures in one look (read
    // after the notice went, they may already count the agent's first pictures back).
    const look = () =>
      page.evaluate(() => {
        const w = document.querySelector("[data-testid=widget]");
        return {
          held: !!document.querySelector("[data-testid=on-hold]"),
          v: Number(w?.getAttribute("data-video-decoded")),
          e: Number(w?.getAttribute("data-audio-energy")),
        };
      });
    let [v1, e1] = [v0, e0];
    for (const until = Date.now() + 30000; Date.now() < until; ) {
      const l = await look();
      if (!l.held) break;
      [v1, e1] = [l.v, l.e];
      await page.waitForTimeout(50);
    }
    out({ hold: { text, video_decoded: v1 - v0, audio_energy: e1 - e0 } });
  }
  if (process.env.SAY) {
    await page.fill("[data-testid=say]", process.env.SAY);
    await page.press("[data-testid=say]", "Enter");
    // Ours and the agent's.
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=chat] li").length >= 2, null, {
      timeout: 15000,
    });
    out({ chat: await page.locator("[data-testid=chat] li").allInnerTexts() });
  }
  if (process.env.SHARE) {
    await page.click("[data-testid=share]");
    await page.waitForSelector("[data-testid=stop-share]", { timeout: 15000 });
    out({ sharing: true });
  }
  if (process.env.MONITOR) {
    // The ear: an analyser on the agent's voice as received, looked at every 50 ms. A hum is
    // heard when its peak stands 25 dB over the median of the band (100 Hz – 4 kHz).
    await page.evaluate(() => {
      const pc = window.__pcs.at(-1);
      const track = pc.getReceivers().find((r) => r.track?.kind === "audio").track;
      const ctx = new AudioContext();
      void ctx.resume();
      const an = ctx.createAnalyser();
      an.fftSize = 4096;
      an.smoothingTimeConstant = 0;
      ctx.createMediaStreamSource(new MediaStream([track])).connect(an);
      const bins = new Float32Array(an.frequencyBinCount);
      const hz = ctx.sampleRate / an.fftSize;
      const ear = (window.__ear = { low: 0, high: 0, looks: 0 });
      const peak = (f) => {
        const i = Math.round(f / hz);
        return Math.max(...bins.slice(i - 2, i + 3));
      };
      setInterval(() => {
        an.getFloatFrequencyData(bins);
        const band = Array.from(bins.slice(Math.round(100 / hz), Math.round(4000 / hz))).sort((a, b) => a - b);
        const floor = band[band.length >> 1];
        ear.looks++;
        if (peak(440) > floor + 25) ear.low++;
        if (peak(770) > floor + 25) ear.high++;
      }, 50);
    });
    let seen = { low: 0, high: 0, looks: 0 };
    for (const until = Date.now() + stayMs; Date.now() < until; ) {
      await page.waitForTimeout(500);
      const now = await page.evaluate(() => ({ ...window.__ear, pcs: window.__pcs.length, leaks: window.__leaks }));
      out({
        ear: {
          at: Date.now(),
          low: now.low - seen.low,
          high: now.high - seen.high,
          looks: now.looks - seen.looks,
          pcs: now.pcs,
          leaks: now.leaks,
        },
      });
      seen = now;
    }
  } else if (process.env.WATCH) {
    for (const until = Date.now() + stayMs; Date.now() < until; ) {
      out({
        watch: {
          video_decoded: Number(await attr("data-video-decoded")),
          media_lost: (await attr("data-media-lost")) === "true",
        },
      });
      await page.waitForTimeout(200);
    }
  } else {
    await page.waitForTimeout(stayMs);
  }
  out({
    video_decoded: Number(await attr("data-video-decoded")),
    video_size: await attr("data-video-size"),
    audio_energy: Number(await attr("data-audio-energy")),
    codecs: await attr("data-codecs"),
    route: await attr("data-route"),
    media_lost: (await attr("data-media-lost")) === "true",
    remote_candidates: (await attr("data-remote-candidates")) || "",
  });
  // Hang up from here when told, unless the agent hangs up first.
  const ended = page.waitForSelector("[data-testid=ended]", { timeout: 30000 });
  const command = await Promise.race([next(), ended.then(() => "ended")]);
  if (command === "quit") throw new Error("the test ended first");
  if (command === "hangup") await page.click("[data-testid=hangup]");
  await ended;
  const end = page.locator("[data-testid=ended]");
  out({ ended: { code: await end.getAttribute("data-code"), side: await end.getAttribute("data-side") } });
} catch (e) {
  out({ error: String(e) });
  process.exitCode = 1;
} finally {
  commands.close();
  await browser.close();
}
