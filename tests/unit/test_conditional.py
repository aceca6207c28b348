"""If-None-Match against an ETag (RFC 9110, 13.1.2): `*` matches any current answer; otherwise a list of entity tags
matches when one of them is the same tag, compared weakly (W/ ignored on either side)."""
from __future__ import annotations

import pytest

from chalicelib.core.http import not_modified, not_modified_reply

TAG = '"3f2a9c"'


@pytest.mark.parametrize("header", [TAG, f"W/{TAG}", f'"other", {TAG}', f'W/"x",W/{TAG}', "*", f"  {TAG}  "])
def test_matching_headers(header: str) -> None:
    assert not_modified(header, TAG)
    assert not_modified(header, f"W/{TAG}")


@pytest.mark.parametrize("header", [None, "", '"other"', "3f2a9c", '"3f2a9"', '"3f2a9c0"', "W/3f2a9c", '"3F2A9C"',
                                    '**', 'W/"other", "x"'])
def test_other_headers(header: str | None) -> None:
    assert not not_modified(header, TAG)


def test_the_reply_has_no_body_and_keeps_the_tag() -> None:
    reply = not_modified_reply(TAG)
    assert (reply.status, reply.body) == (304, None)
    assert reply.headers == {"ETag": TAG, "Cache-Control": "private, no-cache"}
