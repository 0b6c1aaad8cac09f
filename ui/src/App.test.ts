import { render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import App from "./App.svelte";
import { tauriBackend } from "./lib/backend";
import { PROTOCOL_VERSION } from "./generated/protocol";

afterEach(() => clearMocks());

describe("the console shell", () => {
  it("shows the build reported by Rust and tells Rust it is ready", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "app_info") {
        return { name: "Switchboard", version: "9.8.7", protocol_version: PROTOCOL_VERSION, platform: "linux-x86_64" };
      }
      if (cmd === "ui_ready") return null;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(App, { props: { backend: tauriBackend } });
    expect(await screen.findByTestId("app-version")).toHaveProperty("textContent", "9.8.7");
    expect(screen.getByTestId("protocol-version").textContent).toBe(`v${PROTOCOL_VERSION}`);
    await vi.waitFor(() => expect(calls).toEqual(["app_info", "ui_ready"]));
  });

  it("says so when the backend fails, instead of hanging", async () => {
    mockIPC(() => {
      throw new Error("no backend");
    });
    render(App, { props: { backend: tauriBackend } });
    expect((await screen.findByRole("alert")).textContent).toContain("no backend");
  });
});
