import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The customer widget: a page of its own, served by switchboard-server at /widget/, plus
// `embed.js`, the one <script> a company puts on its site.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  base: "/widget/",
  publicDir: "widget-public",
  build: {
    outDir: "dist-widget",
    emptyOutDir: true,
    // Current browsers: the widget needs WebRTC and getDisplayMedia anyway.
    target: "es2022",
    rollupOptions: { input: "widget.html" },
  },
});
