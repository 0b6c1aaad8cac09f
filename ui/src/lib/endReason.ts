// How an end reason reads to an agent (call-ended notices, history rows). `Record<EndCode, …>`
// makes the type check fail when the protocol gains a code that has no text yet.
import type { EndCode, EndReason, Side } from "../generated/protocol";
import type { Locale } from "./i18n.svelte";

type Texts = { en: string; "zh-CN": string };

const CODES: Record<EndCode, Texts> = {
  hangup: { en: "Call ended", "zh-CN": "通话结束" },
  cancelled: { en: "Cancelled", "zh-CN": "已取消" },
  rejected: { en: "Declined", "zh-CN": "已拒绝" },
  busy: { en: "Busy", "zh-CN": "忙线" },
  no_answer: { en: "No answer", "zh-CN": "无人接听" },
  callee_offline: { en: "Offline", "zh-CN": "对方不在线" },
  answered_elsewhere: { en: "Answered on another device", "zh-CN": "已在其他设备接听" },
  ended_elsewhere: { en: "Ended on another device", "zh-CN": "已在其他设备挂断" },
  other_device_in_call: { en: "In a call on another device", "zh-CN": "其他设备正在通话" },
  kicked_duplicate_login: { en: "Signed in elsewhere", "zh-CN": "账号在其他设备登录" },
  kicked_by_server: { en: "Removed by an administrator", "zh-CN": "被管理员移出" },
  network_lost: { en: "Connection lost", "zh-CN": "网络连接中断" },
  media_device_error: { en: "Camera or microphone failed", "zh-CN": "摄像头或麦克风故障" },
  media_negotiation_failed: { en: "Media connection failed", "zh-CN": "媒体连接失败" },
  engine_unsupported: { en: "Media not supported", "zh-CN": "不支持的媒体" },
  blocked: { en: "Blocked", "zh-CN": "已被屏蔽" },
  forbidden: { en: "Not allowed", "zh-CN": "无权呼叫" },
  service_unavailable: { en: "Service unavailable", "zh-CN": "服务不可用" },
  system_interruption: { en: "Interrupted by the system", "zh-CN": "被系统中断" },
  call_completed: { en: "Everyone left", "zh-CN": "所有人已离开" },
  queue_abandoned: { en: "Caller hung up while waiting", "zh-CN": "客户排队时挂断" },
  no_agent_available: { en: "No agent available", "zh-CN": "无可用坐席" },
  queue_timeout: { en: "Waited too long", "zh-CN": "排队超时" },
  transferred: { en: "Transferred", "zh-CN": "已转接" },
  unknown: { en: "Call ended", "zh-CN": "通话结束" },
};

const SIDES: Record<Side, Texts> = {
  local: { en: "by you", "zh-CN": "由您" },
  remote: { en: "by the other party", "zh-CN": "由对方" },
  other_device: { en: "on your other device", "zh-CN": "在您的其他设备上" },
  server: { en: "by the server", "zh-CN": "由服务器" },
  system: { en: "by the system", "zh-CN": "由系统" },
};

/** "Declined (by the other party)" / "已拒绝（由对方）". */
export function endReasonText(reason: EndReason, locale: Locale): string {
  const code = CODES[reason.code] ?? CODES.unknown;
  const side = SIDES[reason.side];
  if (!side) return code[locale];
  return locale === "zh-CN" ? `${code[locale]}（${side[locale]}）` : `${code[locale]} (${side[locale]})`;
}

/** The same from a history row's strings; `abnormal` is the app's own (it quit mid-call). */
export function endText(code: string, side: string, locale: Locale): string {
  if (code === "abnormal") {
    return locale === "zh-CN" ? "异常结束（应用已退出）" : "Ended abnormally (the app quit)";
  }
  return endReasonText({ code: code as EndCode, side: side as Side }, locale);
}
