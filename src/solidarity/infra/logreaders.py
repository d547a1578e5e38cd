"""Readers of a log's public files (c2sp.org/tlog-tiles) for `log_verify`: a local directory
or an http(s) base URL. Both are picklable, so `log_verify(..., workers=N)` can use them.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path


class DirectoryReader:
    """Reads a log's files from a local directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def read(self, path: str) -> bytes | None:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"bad path {path!r}")
        try:
            return (self.root / path).read_bytes()
        except FileNotFoundError:
            return None


class HttpReader:
    """Reads a log's files below an http(s) base URL; 404 means absent."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout

    def read(self, path: str) -> bytes | None:
        # S310: __init__ admits only http(s) base URLs.
        url = self.base_url + path
        req = urllib.request.Request(url, headers={"User-Agent": "solidarity-tlog"})  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data: bytes = resp.read()
                return data
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise


def source_open(location: str | Path) -> DirectoryReader | HttpReader:
    """A reader for a directory path or an http(s) URL."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        return HttpReader(text)
    return DirectoryReader(Path(text))
