import { mount } from "svelte";
import Widget from "./Widget.svelte";
import "../app.css";

const target = document.getElementById("widget");
if (!target) throw new Error("widget.html has no #widget element");

// `?business=billing&media=video&name=Ann&server=https://…&call=agent-1`: what the embedding
// page chose; the server defaults to the page's own origin.
const q = new URLSearchParams(location.search);
export default mount(Widget, {
  target,
  props: {
    server: q.get("server") ?? location.origin,
    business: q.get("business") ?? "",
    callUser: q.get("call"),
    name: q.get("name") ?? "",
    media: q.get("media") === "audio" ? "audio" : "video",
  },
});
