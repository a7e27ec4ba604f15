"""What a file is, told by its bytes: the client's file name and Content-Type are never trusted."""

from __future__ import annotations

import filetype

OCTET_STREAM = "application/octet-stream"


def content_type_sniff(content: bytes) -> str:
    """The MIME type `content` really has: a known binary signature, else UTF-8 text, else opaque bytes."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return str(kind.mime)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return OCTET_STREAM
    # Plain text has no NUL bytes; binary formats filetype does not know usually do.
    return OCTET_STREAM if "\x00" in text else "text/plain"
