// The portal's languages: messages from static/i18n/<lang>.json (English is the fallback of
// every key), the language chosen from the address (?lang=fr), else from the browser's
// languages, and dates and numbers written the way each language writes them (Intl).
//
// Static markup is translated through attributes: data-i18n (text), data-i18n-title,
// data-i18n-placeholder and data-i18n-aria-label hold message keys. Scripts call t(key, params):
// "{name}" in a message is replaced by params.name; with params.count, the key's plural form
// (key.one, key.other, after Intl.PluralRules) is used when the file has one.

/** The languages of the portal: their own name, the <html lang> and Intl locale. */
export const LANGUAGES = {
  en: { name: "English", html: "en", intl: "en" },
  fr: { name: "Français", html: "fr", intl: "fr-FR" },
  zh: { name: "简体中文", html: "zh-Hans", intl: "zh-CN" },
};
const DEFAULT = "en";
const BASE = document.documentElement.dataset.base || "";

let current = DEFAULT;
let messages = {};
let english = {};
let plurals = new Intl.PluralRules(LANGUAGES[DEFAULT].intl);

/** The language of a tag (fr-CA -> fr, zh-Hans-CN -> zh), or null when the portal has none. */
export function languageOf(tag) {
  const base = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
  return Object.hasOwn(LANGUAGES, base) ? base : null;
}

/** The language asked for by the address (?lang=), else the browser's first known one. */
export function chooseLanguage(search = window.location.search, preferred = navigator.languages) {
  const asked = languageOf(new URLSearchParams(search).get("lang"));
  if (asked) return asked;
  for (const tag of preferred || [navigator.language]) {
    const found = languageOf(tag);
    if (found) return found;
  }
  return DEFAULT;
}

async function load(lang) {
  const response = await fetch(`${BASE}/portal/static/i18n/${lang}.json`, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`messages ${lang}: ${response.status}`);
  return response.json();
}

/** The current language (en, fr, zh). */
export function language() {
  return current;
}

/** The Intl locale of the current language (fr-FR...). */
export function locale() {
  return LANGUAGES[current].intl;
}

/** Load the messages of a language (and English beside it) and translate the static page. */
export async function setLanguage(lang) {
  const chosen = Object.hasOwn(LANGUAGES, lang) ? lang : DEFAULT;
  if (!Object.keys(english).length) english = await load(DEFAULT);
  messages = chosen === DEFAULT ? english : await load(chosen).catch((err) => {
    console.warn(err);
    return english;
  });
  current = chosen;
  plurals = new Intl.PluralRules(LANGUAGES[chosen].intl);
  document.documentElement.lang = LANGUAGES[chosen].html;
  translatePage(document);
  return chosen;
}

/** Whether the portal has words for a key (in English at least). */
export function hasMessage(key) {
  return Object.hasOwn(english, key);
}

/** The message of a key in the current language (English when missing), with its params. */
export function t(key, params = {}) {
  let text;
  if (params && typeof params.count === "number") {
    const form = `${key}.${plurals.select(params.count)}`;
    text = messages[form] ?? english[form] ?? messages[`${key}.other`] ?? english[`${key}.other`];
  }
  text = text ?? messages[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!params || !(name in params)) return whole;
    const value = params[name];
    return typeof value === "number" ? formatInteger(value) : String(value);
  });
}

const ATTRIBUTES = { "data-i18n-title": "title", "data-i18n-placeholder": "placeholder", "data-i18n-aria-label": "aria-label" };

/** Translate the data-i18n* attributes under a node. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const [attr, target] of Object.entries(ATTRIBUTES)) {
    for (const node of root.querySelectorAll(`[${attr}]`)) node.setAttribute(target, t(node.getAttribute(attr)));
  }
}

/** The address of this page in another language (the view, in the hash, is kept). */
export function languageHref(lang, href = window.location.href) {
  const address = new URL(href);
  if (lang === DEFAULT) address.searchParams.delete("lang");
  else address.searchParams.set("lang", lang);
  return address.href;
}

// -- numbers and dates -----------------------------------------------------------------------
const numberFormats = new Map();
function numberFormat(options) {
  const key = `${current}:${JSON.stringify(options)}`;
  if (!numberFormats.has(key)) numberFormats.set(key, new Intl.NumberFormat(locale(), options));
  return numberFormats.get(key);
}

/** An integer (or count) with the language's digit grouping: 1,234 / 1 234. */
export function formatInteger(value) {
  return numberFormat({ maximumFractionDigits: 0 }).format(value);
}

/** A number with a fixed count of decimals (12.50 / 12,50), without grouping. */
export function formatFixed(value, decimals) {
  return numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false }).format(value);
}

/** A number with up to `digits` significant digits (271.3 / 271,3); exponents past 1e6, 1e-3. */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return t("value.noData");
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) {
    const text = value.toExponential(2);
    return current === DEFAULT ? text : text.replace(".", numberFormat({}).formatToParts(1.5).find((p) => p.type === "decimal").value);
  }
  return numberFormat({ maximumSignificantDigits: digits, useGrouping: false }).format(value);
}

/** A number with up to `digits` significant digits and never an exponent (-3850000). */
export function formatPlain(value, digits = 7) {
  return numberFormat({ maximumSignificantDigits: digits, useGrouping: false }).format(value);
}

const dateFormats = new Map();
function dateFormat(options) {
  const key = `${current}:${JSON.stringify(options)}`;
  if (!dateFormats.has(key)) dateFormats.set(key, new Intl.DateTimeFormat(locale(), { timeZone: "UTC", ...options }));
  return dateFormats.get(key);
}

/**
 * A UTC instant for people, at a precision: "day" (the default), "minute", "month" or "year".
 * English keeps ISO 8601 (2017-06-05, 2017-06-05 12:00, 2017-06: never month/day/year);
 * other languages their own order and month names (5 juin 2017, 2017年6月5日).
 */
export function formatDate(value, precision = "day") {
  if (value === null || value === undefined || value === "") return "";
  const text = String(value);
  // times without a zone are UTC (as the hub writes them), not the browser's local time
  const ms = typeof value === "number" ? value : Date.parse(/T[\d:.]+$/.test(text) ? `${text}Z` : text);
  if (!Number.isFinite(ms)) return String(value);
  if (current === DEFAULT) {
    const iso = new Date(ms).toISOString();
    if (precision === "year") return iso.slice(0, 4);
    if (precision === "month") return iso.slice(0, 7);
    if (precision === "minute") return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
    return iso.slice(0, 10);
  }
  const options = {
    year: { year: "numeric" },
    month: { year: "numeric", month: "short" },
    day: { year: "numeric", month: "short", day: "numeric" },
    minute: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
  }[precision] || { year: "numeric", month: "short", day: "numeric" };
  return dateFormat(options).format(new Date(ms));
}

/** The name of a calendar month (1-12) in the current language. */
export function monthName(month) {
  return dateFormat({ month: "long" }).format(new Date(Date.UTC(2001, month - 1, 15)));
}

// -- errors ----------------------------------------------------------------------------------
/**
 * An error for people in the current language. The hub's problem details are English: an
 * error with an HTTP status (HubError) is explained by its status in the current language,
 * the hub's English detail beside it; a failed request (no answer) says so. Messages the
 * portal made itself are already translated. In English the detail alone is shown.
 */
export function errorText(err) {
  const detail = String(err && err.message ? err.message : err);
  if (current === DEFAULT || !err) return detail;
  let explanation;
  if (typeof err.status === "number") {
    const key = `problem.${err.status}`;
    explanation = Object.hasOwn(messages, key) ? t(key) : t("problem.other", { status: String(err.status) });
  } else if (err.name === "TypeError") {
    explanation = t("problem.network");
  } else {
    return detail;
  }
  return t("problem.withDetail", { explanation, detail });
}
