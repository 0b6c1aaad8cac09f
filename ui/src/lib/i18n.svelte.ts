// UI strings in English and Simplified Chinese. Keys are checked by the compiler: a string
// missing in one language fails `npm run check`.
export type Locale = "en" | "zh-CN";

const en = {
  "app.title": "Switchboard",
  "app.tagline": "Agent call console",
  "status.signed_out": "Signed out",
  "shell.build": "This build",
  "shell.version": "Version",
  "shell.protocol": "Protocol",
  "shell.platform": "Platform",
  "shell.loading": "Loading…",
  "shell.backend_error": "The app's backend did not answer",
  "shell.next": "Sign-in, calls and the queue panel arrive with the engine.",
  "settings.language": "Language",
  "settings.theme": "Theme",
  "theme.system": "System",
  "theme.light": "Light",
  "theme.dark": "Dark",
} as const;

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  "app.title": "Switchboard",
  "app.tagline": "坐席通话控制台",
  "status.signed_out": "未登录",
  "shell.build": "当前版本",
  "shell.version": "版本",
  "shell.protocol": "协议",
  "shell.platform": "平台",
  "shell.loading": "加载中…",
  "shell.backend_error": "应用后台无响应",
  "shell.next": "登录、通话和排队面板将随通话引擎一起提供。",
  "settings.language": "语言",
  "settings.theme": "主题",
  "theme.system": "跟随系统",
  "theme.light": "浅色",
  "theme.dark": "深色",
};

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, "zh-CN": zh };

export const LOCALES: { id: Locale; name: string }[] = [
  { id: "en", name: "English" },
  { id: "zh-CN", name: "简体中文" },
];

function initialLocale(): Locale {
  const saved = globalThis.localStorage?.getItem("locale");
  if (saved === "en" || saved === "zh-CN") return saved;
  return globalThis.navigator?.language?.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export const i18n = $state<{ locale: Locale }>({ locale: initialLocale() });

export function setLocale(locale: Locale): void {
  i18n.locale = locale;
  globalThis.localStorage?.setItem("locale", locale);
  if (globalThis.document) document.documentElement.lang = locale;
}

export function t(key: MessageKey): string {
  return catalogs[i18n.locale][key];
}
