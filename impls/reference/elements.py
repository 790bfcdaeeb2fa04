"""`$elements` (autocapture element dicts) -> the `elements_chain` string."""

from __future__ import annotations

from typing import Any

from impls.reference.jsonrules import json_text

MAX_TEXT = 400
MAX_HREF = 2048


def _class_names(element: dict[str, Any]) -> list[str]:
    classes = element.get("attr__class")
    if type(classes) is str:
        return [c for c in classes.split(" ") if c]
    if type(classes) is not list:
        classes = element.get("classes")
        if type(classes) is not list:
            return []
    return [c for c in classes if type(c) is str]


def _escape(text: str) -> str:
    return text.replace('"', '\\"')


def element_to_string(element: dict[str, Any]) -> str:
    tag = element.get("tag_name")
    parts = [tag if type(tag) is str else ""]
    for name in sorted(_class_names(element)):
        parts.append("." + name.replace('"', ""))
    attributes: dict[str, str] = {}
    text = element.get("$el_text")
    if type(text) is str and text:
        attributes["text"] = text[:MAX_TEXT]
    for key, source in (("nth-child", "nth_child"), ("nth-of-type", "nth_of_type")):
        value = element.get(source)
        attributes[key] = "0" if value is None else json_text(value)
    href = element.get("attr__href")
    if type(href) is str and href:
        attributes["href"] = href[:MAX_HREF]
    attr_id = element.get("attr__id")
    if type(attr_id) is str and attr_id:
        attributes["attr_id"] = attr_id
    for key, value in element.items():
        if key.startswith("attr__"):
            attributes[key] = json_text(value)
    parts.append(":")
    parts.extend(f'{_escape(k)}="{_escape(v)}"' for k, v in attributes.items())
    return "".join(parts)


def elements_chain(properties: dict[str, Any]) -> str:
    """Removes `$elements_chain` and `$elements` from the properties and returns the chain."""
    chain = properties.pop("$elements_chain", None)
    elements = properties.pop("$elements", None)
    if type(chain) is str and chain:
        return chain
    if type(elements) is list:
        return ";".join(element_to_string(e) for e in elements if type(e) is dict)
    return ""
