// The video codec's state, shared by the consent strip and the settings (docs/openh264.md): a
// codec turned off in the settings brings the strip back, one downloaded there hides it.
import type { Backend, CodecStatus } from "./backend";

export const codec = $state<{ status: CodecStatus | null }>({ status: null });

export async function loadCodec(backend: Backend): Promise<void> {
  try {
    codec.status = await backend.codecStatus();
  } catch {
    // An older shell: nothing to ask.
    codec.status = null;
  }
}
