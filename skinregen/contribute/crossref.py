"""Draft a BibTeX entry from a DOI's metadata at Crossref (https://api.crossref.org/works/<doi>).

Used by ``python -m skinregen add-study`` when it runs online. The service's address can be changed with the
environment variable ``SKINREGEN_CROSSREF_API``: the tests point it at a local server that replays a
recorded response, so they never reach the network.
"""

from __future__ import annotations

import html
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_API = "https://api.crossref.org"
USER_AGENT = "skinregen-add-study (https://github.com/skinregen/stem-cell-skin-review)"


class CrossrefError(RuntimeError):
    """Crossref could not be asked, or has no usable record for the DOI."""


def api_base() -> str:
    return os.environ.get("SKINREGEN_CROSSREF_API", DEFAULT_API).rstrip("/")


def fetch_work(doi: str, timeout: float = 20) -> dict:
    """The ``message`` of Crossref's /works/<doi> response."""
    url = f"{api_base()}/works/{urllib.parse.quote(doi, safe='/')}"
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise CrossrefError(f"Crossref has no record of DOI {doi}: check the DOI on the publisher's page") from None
        raise CrossrefError(f"Crossref answered HTTP {error.code} for DOI {doi}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CrossrefError(f"cannot reach Crossref at {api_base()} ({reason}); offline, give the entry with "
                            "--bib FILE") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CrossrefError(f"Crossref's answer for DOI {doi} is not JSON") from None
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise CrossrefError(f"Crossref's answer for DOI {doi} has no 'message'")
    return message


def _text(value) -> str:
    """Crossref titles may carry JATS/HTML markup and entities: plain text, one line."""
    if isinstance(value, list):
        value = value[0] if value else ""
    text = html.unescape(re.sub(r"<[^>]+>", "", str(value or "")))
    return re.sub(r"\s+", " ", text).strip()


def _year(message: dict) -> str:
    """The year of the printed issue when Crossref has one, else of the first publication."""
    for name in ("published-print", "journal-issue", "issued", "published-online", "published"):
        part = message.get(name)
        if name == "journal-issue" and isinstance(part, dict):
            part = part.get("published-print")
        try:
            return str(int(part["date-parts"][0][0]))
        except (TypeError, KeyError, IndexError, ValueError):
            continue
    return ""


def _authors(message: dict) -> str:
    names = []
    for person in message.get("author", []):
        if person.get("family"):
            given = person.get("given")
            names.append(f"{person['family']}, {given}" if given else person["family"])
        elif person.get("name"):
            names.append("{" + person["name"] + "}")
    return " and ".join(names)


def bib_fields(message: dict) -> dict[str, str]:
    """BibTeX fields (author, title, journal, year, volume, number, pages, doi) from a Crossref work."""
    fields = {
        "author": _authors(message),
        "title": _text(message.get("title")),
        "journal": _text(message.get("container-title")),
        "year": _year(message),
        "volume": _text(message.get("volume")),
        "number": _text(message.get("issue")),
        "pages": _text(message.get("page")).replace("-", "--") or _text(message.get("article-number")),
        "doi": _text(message.get("DOI")),
    }
    return {name: value for name, value in fields.items() if value}
