"""The portal in French and simplified Chinese, in a real browser: the language follows the
browser's locale, the selector in the header and the address (``?lang=``); no English string
of the portal's own (``en.json``) stays visible in any view; dates are written the French way.

Screenshots of each view in each language go to ``tests/artifacts/portal/`` (``i18n-*``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .test_portal_browser import (
    PHONE,
    TIMEOUT_MS,
    Guard,
    browser,  # noqa: F401  (the module-scoped Chromium fixture)
    shot,
    wait_basemap,
)

EN = json.loads(
    (Path(__file__).resolve().parents[1] / "src/spaceclimate/portal/static/i18n/en.json").read_text(
        encoding="utf-8"
    )
)

#: The main views, each with what shows it is ready.
VIEWS = {
    "catalog": ("#/catalog", ".results[data-count]"),
    "dataset": ("#/dataset/noaa-ersst-v5", "table"),
    "map": ("#/map/ukmo-ostia-sst-monthly", ".legend-title:not(:empty)"),
    "chart": ("#/series/csiro-gmsl-altimetry", ".chart-panel[data-series='1']"),
    "compare": ("#/compare", ".compare .muted[data-ready]"),
    "download": ("#/download/ukmo-ostia-sst-daily", ".estimate[data-fits]"),
    "places": ("#/places", ".places-list[data-count]"),
    "error": ("#/dataset/no-such-collection", ".error"),
}

#: English messages that are also the right words in French, so may show in the French
#: view: international words spelled alike (Satellite, Collection, Variable, Format,
#: Description, Licence, Mission, Minimum, Maximum, Provenance, Publications, In situ, type,
#: dimension(s), item, fraction, longitude and latitude in degrees) and the map's copyright
#: line (a proper name).
SAME_IN_FRENCH = {
    "Satellite",
    "Collection",
    "Variable",
    "Variables",
    "Format",
    "Description",
    "Licence",
    "Mission",
    "Minimum",
    "Maximum",
    "Provenance",
    "Publications",
    "In situ",
    "type",
    "dimension",
    "dimensions",
    "description",
    "item",
    "fraction",
    "Basemap: Natural Earth",
    "Longitude (°",
    "Latitude (°",
}

#: Text of a view as people read it: the page's visible text (without the hub's own texts
#: about a collection: its description and citation, and code snippets), with the
#: placeholders and option labels of its fields.
VISIBLE_TEXT = """() => {
  const root = document.body.cloneNode(true);
  const hub = '.description, .citation, pre, code, .series-view > .intro';
  for (const n of root.querySelectorAll(hub)) n.remove();
  document.body.append(root);
  root.style.position = 'absolute';
  const text = root.innerText;
  root.remove();
  const extra = [...document.querySelectorAll('input[placeholder]')].map((i) => i.placeholder);
  return [text, ...extra].join('\\n');
}"""


def fragments(message: str) -> list[str]:
    """The literal parts of a message long enough to recognise (placeholders left out)."""
    parts = [p.strip(" .,:;()…") for p in re.split(r"\{\w+\}", message)]
    return [p for p in parts if len(p) >= 4 or (p and not re.search(r"\{", message))]


def english_strings() -> list[str]:
    """Every literal piece of an English message that people could recognise in a page."""
    found = {f for message in EN.values() for f in fragments(message)}
    # unit symbols, single letters and signs read the same in every language
    return sorted(f for f in found if len(f) > 2 and re.search(r"[a-z]{2}", f))


def shows(text: str, fragment: str) -> bool:
    """Whether `fragment` appears as words of its own in `text` (case-sensitive)."""
    return re.search(rf"(?<![\w-]){re.escape(fragment)}(?![\w-])", text) is not None


def open_context(chromium: Browser, base: str, **options: Any) -> tuple[Any, Page, Guard]:
    context = chromium.new_context(
        viewport=options.pop("viewport", {"width": 1366, "height": 900}), **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    guard = Guard(base.rstrip("/"))
    page.on("request", lambda r: guard.on_request(r.url))
    page.on("console", lambda m: guard.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: guard.errors.append(f"uncaught: {e}"))
    return context, page, guard


def view_texts(page: Page, guard: Guard, base: str, lang: str, query: str = "") -> dict[str, str]:
    """Visit every view (in the language of the address or browser), return its text."""
    texts = {}
    for name, (route, ready) in VIEWS.items():
        page.goto(f"{base}/{query}{route}")
        page.wait_for_selector(ready)
        if name in ("map", "compare", "catalog"):
            map_id = {"map": "viewer-map", "compare": "compare-map-a", "catalog": "catalog-map"}
            wait_basemap(page, map_id[name])
        texts[name] = page.evaluate(VISIBLE_TEXT)
        if name != "error":
            shot(page, f"i18n-{lang}-{name}")
        else:  # the missing collection's 404, which the view explains
            guard.errors = [e for e in guard.errors if "404 (Not Found)" not in e]
    return texts


@pytest.fixture(scope="module")
def english(browser: Browser, live_hub: str) -> dict[str, str]:  # noqa: F811
    """The views in English (a browser without a French or Chinese locale)."""
    context, page, guard = open_context(browser, live_hub)
    try:
        texts = view_texts(page, guard, live_hub, "en")
        assert page.evaluate("() => document.documentElement.lang") == "en"
        guard.assert_clean()
        return texts
    finally:
        context.close()


@pytest.fixture(scope="module")
def hub_text(live_hub: str) -> str:
    """What the hub itself says in English: collection titles, descriptions, keywords,
    variable descriptions, providers, and its operations' descriptions. A word of en.json
    that these hold too ('daily', 'extent', 'mean') cannot tell an untranslated page."""
    parts: list[str] = []
    collections = httpx.get(f"{live_hub}/stac/collections", params={"limit": 1000}).json()
    for doc in collections["collections"]:
        parts += [doc.get("title", ""), doc.get("description", ""), *doc.get("keywords", [])]
        parts += [p["name"] for p in doc.get("providers", [])]
        parts += [v.get("description") or "" for v in doc.get("cube:variables", {}).values()]
    for process in httpx.get(f"{live_hub}/processes").json().get("processes", []):
        described = httpx.get(f"{live_hub}/processes/{process['id']}").json()
        parts.append(json.dumps(described))
    return "\n".join(parts)


def untranslated(
    english: dict[str, str], other: dict[str, str], allowed: set[str], hub_text: str
) -> dict[str, list[str]]:
    """The English strings of en.json seen in the English view and still in the other one
    (those the hub's own English texts hold too left out, and the `allowed` ones)."""
    candidates = [s for s in english_strings() if s not in allowed and not shows(hub_text, s)]
    out = {}
    for view, text in other.items():
        seen = [s for s in candidates if shows(english[view], s)]
        left = [s for s in seen if shows(text, s)]
        if left:
            out[view] = left
    return out


def test_french_from_the_browser_locale(
    browser: Browser,  # noqa: F811
    live_hub: str,
    english: dict[str, str],
    hub_text: str,
) -> None:
    context, page, guard = open_context(browser, live_hub, locale="fr-FR")
    try:
        french = view_texts(page, guard, live_hub, "fr")
        assert page.evaluate("() => document.documentElement.lang") == "fr"
        left = untranslated(english, french, SAME_IN_FRENCH, hub_text)
        assert left == {}, json.dumps(left, ensure_ascii=False)
        # the checks can fail: the English catalog holds many of its strings
        checked = [s for s in english_strings() if not shows(hub_text, s)]
        assert len([s for s in checked if shows(english["catalog"], s)]) > 20
        # names from the ECV table, dates and numbers the French way
        assert "Température de surface de la mer" in french["compare"]
        assert "Température de surface de la mer" in french["map"]
        assert "Anomalie de température de surface de la mer" in french["download"]
        assert re.search(
            r"du \d{1,2} [a-zéû]+\.? \d{4} au \d{1,2} [a-zéû]+\.? \d{4}", french["catalog"]
        )
        assert not re.search(
            r"\b(0?[1-9]|1[0-2])/(\d{2})/\d{4}\b", french["catalog"] + french["map"]
        )
        # the download's dates in words beside the browser's own date fields
        assert "Choisi : du 5 juin 2017 au 7 juin 2017." in french["download"]
        page.goto(f"{live_hub}/#/map/ukmo-ostia-sst-daily")
        page.wait_for_selector(".time-label:not(:empty)")
        label = page.locator(".time-label").inner_text()
        assert re.match(r"\d{1,2} juin 2017, \d{2}:\d{2} UTC \(pas \d+ sur \d+\)", label), label
        # the hub's problem details are English: explained in French, the detail beside
        assert (
            "Introuvable sur ce hub." in french["error"] and "no-such-collection" in french["error"]
        )
        guard.assert_clean()
    finally:
        context.close()


def test_chinese_from_the_selector_and_the_address(
    browser: Browser,  # noqa: F811
    live_hub: str,
    english: dict[str, str],
    hub_text: str,
) -> None:
    context, page, guard = open_context(browser, live_hub)
    try:
        page.goto(f"{live_hub}/#/catalog")
        page.wait_for_selector(".results[data-count]")
        assert page.locator("main h1").inner_text() == "Catalog"
        page.get_by_label("Language").select_option("zh")
        page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'")
        page.wait_for_selector(".results[data-count]")
        assert page.locator("main h1").inner_text() == "目录"
        assert "lang=zh" in page.url and page.url.endswith("#/catalog")
        assert "海表温度" in page.locator("select[name=ecv]").inner_text()
        # the address keeps the language for every view
        chinese = view_texts(page, guard, live_hub, "zh", "?lang=zh")
        left = untranslated(english, chinese, set(), hub_text)
        assert left == {}, json.dumps(left, ensure_ascii=False)
        assert "2017年" in chinese["download"] or "2017年" in chinese["catalog"]
        assert "服务器" in chinese["error"]
        guard.assert_clean()
    finally:
        context.close()


def test_phone_menu_stays_on_one_row_in_every_language(browser: Browser, live_hub: str) -> None:  # noqa: F811
    context, page, guard = open_context(browser, live_hub, viewport=PHONE)
    try:
        for lang in ("en", "fr", "zh"):
            page.goto(f"{live_hub}/?lang={lang}#/catalog")
            page.wait_for_selector(".results[data-count]")
            middle = (
                "ns => ns.map((n) => { const r = n.getBoundingClientRect(); "
                "return Math.round(r.top + r.height / 2); })"
            )
            tops = page.eval_on_selector_all("header nav li:visible", middle)
            assert max(tops) - min(tops) <= 4, f"{lang}: the menu wraps ({tops})"
            brand, chooser = page.eval_on_selector_all("header .brand, header .language", middle)
            assert abs(brand - chooser) <= 4 and chooser < min(tops), f"{lang}: {brand, chooser}"
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{lang}: the page scrolls sideways ({width} px)"
            shot(page, f"i18n-{lang}-phone")
        guard.assert_clean()
    finally:
        context.close()
