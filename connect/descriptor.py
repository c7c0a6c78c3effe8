"""The app descriptor checked against Connect's rules.

`validate_descriptor` checks the rules from Atlassian's descriptor schema that a typo would
break at install time; the app renders its descriptor from its own surface definition.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

APP_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9\-._]{1,64}$")
MODULE_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9-]+$")
SCOPES = {
    "NONE",
    "READ",
    "WRITE",
    "DELETE",
    "PROJECT_ADMIN",
    "SPACE_ADMIN",
    "ADMIN",
    "ACT_AS_USER",
    "ACCESS_EMAIL_ADDRESSES",
}
LIFECYCLE_EVENTS = {"installed", "uninstalled", "enabled", "disabled"}
PAGE_MODULES = {"generalPages", "adminPages", "configurePage", "postInstallPage"}


def _modules(descriptor: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for kind, value in descriptor.get("modules", {}).items():
        for module in value if isinstance(value, list) else [value]:
            found.append((kind, module))
    return found


def relative_urls(descriptor: dict[str, Any]) -> list[str]:
    """Every app URL the descriptor makes Jira call (lifecycle, modules, webhooks)."""
    urls = [u for u in descriptor.get("lifecycle", {}).values() if isinstance(u, str)]
    for _kind, module in _modules(descriptor):
        url = module.get("url") or (module.get("content") or {}).get("url")
        if isinstance(url, str):
            urls.append(url)
        target = module.get("target")
        if isinstance(target, dict) and isinstance(target.get("url"), str):
            urls.append(target["url"])
    return urls


def validate_descriptor(descriptor: dict[str, Any], *, require_https: bool = False) -> list[str]:
    """Problems Jira would reject or that would break the app; empty when the descriptor is ok."""
    problems: list[str] = []
    for field in ("key", "baseUrl", "authentication"):
        if field not in descriptor:
            problems.append(f"missing required field '{field}'")
    key = descriptor.get("key", "")
    if not isinstance(key, str) or not APP_KEY_PATTERN.fullmatch(key):
        problems.append(f"app key {key!r} must be 1-64 of [a-zA-Z0-9-._]")
    base = urlsplit(str(descriptor.get("baseUrl", "")))
    if base.scheme not in ("http", "https") or not base.netloc:
        problems.append("baseUrl must be an absolute http(s) URL")
    elif require_https and base.scheme != "https":
        problems.append("baseUrl must use https")
    if base.query or base.fragment:
        problems.append("baseUrl must not carry a query or fragment")
    if descriptor.get("authentication", {}).get("type") != "jwt":
        problems.append("authentication.type must be 'jwt'")
    for event, url in descriptor.get("lifecycle", {}).items():
        if event not in LIFECYCLE_EVENTS:
            problems.append(f"unknown lifecycle event '{event}'")
        if not isinstance(url, str) or not url.startswith("/"):
            problems.append(f"lifecycle.{event} must be a path relative to baseUrl")
    scopes = descriptor.get("scopes", [])
    unknown = sorted({str(s).upper() for s in scopes} - SCOPES)
    if unknown:
        problems.append(f"unknown scopes {unknown}")
    seen: set[str] = set()
    for kind, module in _modules(descriptor):
        problems.extend(_module_problems(kind, module, seen))
    for url in relative_urls(descriptor):
        if not url.startswith("/"):
            problems.append(f"URL {url!r} must be relative to baseUrl (start with '/')")
    return problems


def _module_problems(kind: str, module: dict[str, Any], seen: set[str]) -> list[str]:
    problems: list[str] = []
    if kind == "webhooks":
        if not module.get("event") or not module.get("url"):
            problems.append("every webhook needs 'event' and 'url'")
        return problems
    key = module.get("key")
    if not isinstance(key, str) or not MODULE_KEY_PATTERN.fullmatch(key):
        problems.append(f"{kind} module key {key!r} must be alphanumerics and dashes")
    elif key in seen:
        problems.append(f"module key '{key}' is used twice")
    else:
        seen.add(key)
    name = module.get("name")
    if not isinstance(name, dict) or not name.get("value"):
        problems.append(f"{kind} module '{key}' needs name.value")
    if kind in PAGE_MODULES and not module.get("url"):
        problems.append(f"{kind} module '{key}' needs a url")
    if kind == "jiraIssueGlances":
        for field in ("icon", "content", "target"):
            if field not in module:
                problems.append(f"issue glance '{key}' needs '{field}'")
    return problems
