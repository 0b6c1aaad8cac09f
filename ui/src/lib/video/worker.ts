// A video tile's worker: reads the bridge's WebSocket off the page's thread and hands each
// picture (its buffer transferred, not copied) to the tile, which draws it. Reconnects while
// the member has no pictures yet.
import { parsePicture, type ToWorker } from "./protocol";

let socket: WebSocket | null = null;
let url = "";
let stopped = false;
let want = { width: 640, height: 360 };

function connect() {
  if (stopped) return;
  const ws = new WebSocket(`${url}&w=${want.width}&h=${want.height}`);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (m) => {
    const buf = m.data as ArrayBuffer;
    // Only well-formed pictures go to the page.
    if (parsePicture(buf)) self.postMessage(buf, { transfer: [buf] });
  };
  // The member may not have media yet, or the call ended: try again shortly until stopped.
  ws.onclose = () => {
    socket = null;
    setTimeout(connect, 500);
  };
  socket = ws;
}

onmessage = (m: MessageEvent<ToWorker>) => {
  const msg = m.data;
  if (msg.type === "start") {
    url = msg.url;
    want = { width: msg.width, height: msg.height };
    connect();
  } else if (msg.type === "resize") {
    want = { width: msg.width, height: msg.height };
    socket?.send(JSON.stringify({ w: msg.width, h: msg.height }));
  } else if (msg.type === "stop") {
    stopped = true;
    socket?.close();
    close();
  }
};
