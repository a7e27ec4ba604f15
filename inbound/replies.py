"""The new text of an e-mailed reply, without the quoted message under it or the sender's signature."""

from __future__ import annotations

from mailparser_reply import EmailReplyParser

# Languages whose reply headers ("On … wrote:") and signature markers are recognised.
REPLY_LANGUAGES = ["en", "de", "fr"]


def reply_text(text: str) -> str:
    """The first reply in `text` with quoted text, headers and signature removed; '' when there is none."""
    if not text.strip():
        return ""
    parsed = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text)
    if not parsed.replies:
        return text.strip()
    return str(parsed.replies[0].body).strip()
