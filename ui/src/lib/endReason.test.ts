import { describe, expect, it } from "vitest";
import { endReasonText } from "./endReason";
import type { EndReason } from "../generated/protocol";
// The Rust golden fixture listing every end code: the UI must have words for each.
import everyCode from "../../../crates/protocol/tests/fixtures/end_reasons.json";

describe("end reasons", () => {
  it("has text for every code of the protocol in both languages", () => {
    const reasons = everyCode as EndReason[];
    expect(reasons.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const r of reasons) {
      for (const locale of ["en", "zh-CN"] as const) {
        const text = endReasonText(r, locale);
        expect(text, `${r.code} in ${locale}`).toMatch(/\S/);
        seen.add(`${locale}:${text}`);
      }
    }
    // Distinct codes read differently (hangup and unknown share words on purpose).
    expect(seen.size).toBe(reasons.length * 2);
  });

  it("names the side from the reader's point of view", () => {
    expect(endReasonText({ code: "rejected", side: "remote" }, "en")).toBe("Declined (by the other party)");
    expect(endReasonText({ code: "busy", side: "remote" }, "zh-CN")).toBe("忙线（由对方）");
  });
});
