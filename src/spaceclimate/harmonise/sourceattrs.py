"""Global attributes a cube carries over from its source files: who made them, whom to ask.

Most global attributes of a source file describe that file (its ``id``, tracking id,
``date_created``, ``history``, time coverage) and a cube is built from many files, so only the
attributes that describe the product are carried (:data:`~spaceclimate.ecv.models.PRODUCT_ATTRS`:
the creator and its contact, contributors, project, programme and acknowledgement), and only
those every source file of the cube gives the same value (:func:`agree`): the result does not
depend on the files' order, and ingesting the same files again gives the same attributes.

The ``creator_*`` attributes are carried only with a contact (``creator_email`` or
``creator_url``): a bare name, without a way to reach it, adds nothing the recipe's producer
does not say already.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spaceclimate.ecv.models import PRODUCT_ATTRS

#: Key of a harmonised file's attributes holding what it carries (not stored in cubes).
SOURCE_ATTRS_KEY = "sco_source_attrs"
#: Other spellings of carried attributes in source files (ACDD 1.1 and 1.3 spell it both ways).
ALIASES = {"acknowledgment": "acknowledgement"}
#: Attributes of the creator, carried together with its contact.
CREATOR_ATTRS = tuple(name for name in PRODUCT_ATTRS if name.startswith("creator_"))


def has_contact(attrs: Mapping[str, Any]) -> bool:
    """Return True when *attrs* name a way to reach the creator (an e-mail or a URL)."""
    return bool(attrs.get("creator_email") or attrs.get("creator_url"))


def pick(attrs: Mapping[Any, Any]) -> dict[str, str]:
    """Return the attributes of a source file's global *attrs* that a cube carries.

    Only text values that are not blank, under their ACDD names; the canonical spelling wins
    over an alias when a file has both.
    """
    out: dict[str, str] = {}
    for key in sorted(attrs, key=lambda k: (str(k) in ALIASES, str(k))):
        name = ALIASES.get(str(key), str(key))
        value = attrs[key]
        if name not in PRODUCT_ATTRS or name in out or not isinstance(value, str):
            continue
        if value.strip():
            out[name] = value.strip()
    if not has_contact(out):
        out = {k: v for k, v in out.items() if k not in CREATOR_ATTRS}
    return out


def agree(first: Mapping[str, str], *others: Mapping[str, str]) -> dict[str, str]:
    """Return the attributes of *first* that every one of *others* has with the same value."""
    return {k: v for k, v in sorted(first.items()) if all(o.get(k) == v for o in others)}
