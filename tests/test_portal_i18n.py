"""The portal's translation files: the same keys in every language, every key the page and its
scripts use present in English, the same ``{placeholders}`` in each translation; and the ECV
table's names in French and Chinese, which collections carry to the portal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from spaceclimate.catalog.stac import ecv_names, variable_names
from spaceclimate.ecv import list_ecvs
from spaceclimate.ecv.models import ECVDef

STATIC = Path(__file__).resolve().parents[1] / "src" / "spaceclimate" / "portal" / "static"
LANGUAGES = ("en", "fr", "zh")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def messages(lang: str) -> dict[str, str]:
    return dict(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))


def used_keys() -> set[str]:
    """Every key named literally in index.html (data-i18n*) and in the scripts (t("..."))."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', html))
    for script in (STATIC / "js").glob("*.js"):
        keys |= set(re.findall(r'\bt\(\s*"([^"]+)"', script.read_text(encoding="utf-8")))
    return keys


def test_every_language_has_the_keys_of_english() -> None:
    english = messages("en")
    assert len(english) > 300
    for lang in LANGUAGES[1:]:
        other = messages(lang)
        assert sorted(set(english) - set(other)) == [], f"{lang}.json lacks these keys"
        assert sorted(set(other) - set(english)) == [], f"{lang}.json has keys English lacks"
        empty = [k for k, v in other.items() if not isinstance(v, str) or not v.strip()]
        assert empty == [], f"{lang}.json has empty messages"


def test_translations_keep_the_placeholders() -> None:
    english = messages("en")
    for lang in LANGUAGES[1:]:
        for key, text in messages(lang).items():
            expected = set(PLACEHOLDER.findall(english[key]))
            assert set(PLACEHOLDER.findall(text)) == expected, f"{lang}.json {key}: {text!r}"


def test_every_key_used_by_the_page_is_in_english() -> None:
    english = messages("en")
    keys = used_keys()
    assert {"nav.catalog", "catalog.title", "action.openMap", "viewer.timeLabel"} <= keys
    # a key used with a count may exist in plural forms only (key.one, key.other)
    missing = sorted(k for k in keys if k not in english and f"{k}.other" not in english)
    assert missing == []


def test_the_key_scan_finds_a_missing_key(tmp_path: Path) -> None:
    """The scan above reads real calls: a new t("...") with no message would be caught."""
    script = 'el("p", {}, t("nowhere.key", { n: 1 })); t( "other.key")'
    assert set(re.findall(r'\bt\(\s*"([^"]+)"', script)) == {"nowhere.key", "other.key"}


def test_every_ecv_and_variable_is_named_in_french_and_chinese() -> None:
    for ecv in list_ecvs().values():
        assert set(dict(ecv.names)) == {"fr", "zh"}, ecv.id
        for var in ecv.variables.values():
            assert set(dict(var.names)) == {"fr", "zh"}, var.name
    assert ecv_names("sea_surface_temperature") == {
        "en": "Sea surface temperature",
        "fr": "Température de surface de la mer",
        "zh": "海表温度",
    }
    assert variable_names("sic")["fr"] == "Concentration de la glace de mer"
    assert ecv_names("no_such_ecv") == {} and variable_names("slope") == {}


@pytest.mark.parametrize("names", [{"en": "Sea ice"}, {"French": "Glace"}, {"fr": " "}])
def test_names_need_a_language_code_and_a_text(names: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ECVDef(id="x", title="X", domain="ocean", variables={}, names=names)
