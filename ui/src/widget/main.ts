import { mount } from "svelte";
import Widget from "./Widget.svelte";
import "../app.css";

const target = document.getElementById("widget");
if (!target) throw new Error("widget.html has no #widget element");

// `?business=billing&media=video&name=Ann&call=bob`: what the embedding page chose. The
// service is always the page's own origin: a link must not send a customer's camera, or a
// user's password, elsewhere (`?server=` only in a development build).
const q = new URLSearchParams(location.search);
export default mount(Widget, {
  target,
  props: {
    server: (import.meta.env.DEV && q.get("server")) || location.origin,
    business: q.get("business") ?? "",
    callUser: q.get("call"),
    name: q.get("name") ?? "",
    media: q.get("media") === "audio" ? "audio" : "video",
  },
});
