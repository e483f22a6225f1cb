"""``chatconn run``'s options for Stream Chat: ``--protocol stream --url BASE --api-key K``.

::

    CHATCONN_TOKEN=... chatconn run --protocol stream --url https://chat.example.com \\
        --api-key KEY [--user-id ID] --policy stream-chat --sessions 20
    chatconn run --lab --protocol stream --profile 3g --policy seed

With ``--url`` the URL is the deployment's base URL (what ``client.setBaseURL`` takes;
Stream's own is ``https://chat.stream-io-api.com``), the API key is an argument (it is
public, the SDK ships it to browsers) and the user's token comes from ``--token-env`` like
every token: a :class:`~chatconn.live.tokens.Secret`, never in a log, record or repr.
``--user-id`` must be the user the token was made for.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..core.errors import ConfigError

__all__ = ["add_stream_run_args", "stream_endpoint"]


def add_stream_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        choices=("chatconn", "stream"),
        default="chatconn",
        help="chatconn: the lab's own protocol; stream: Stream Chat's API (--url is then the "
        "base URL, with --api-key; --lab starts a Stream-protocol lab)",
    )
    parser.add_argument("--api-key", help="the Stream app's API key (--protocol stream --url)")
    parser.add_argument(
        "--user-id", default="chatconn", help="the user the token belongs to (--protocol stream)"
    )


def stream_endpoint(args: argparse.Namespace) -> Any:
    """The :class:`StreamEndpoint` of ``--protocol stream --url``, else None."""
    if getattr(args, "protocol", "chatconn") != "stream":
        if getattr(args, "api_key", None):
            raise ConfigError("api_key", args.api_key, "is for --protocol stream")
        return None
    if not args.api_key:
        raise ConfigError("api_key", None, "--protocol stream --url needs --api-key")
    if args.alt_url or args.http_url:
        raise ConfigError(
            "url", args.url, "a Stream deployment is one base URL: drop --alt-url/--http-url"
        )
    from ..endpoint import StreamEndpoint

    return StreamEndpoint.from_base_url(args.url, api_key=args.api_key, user_id=args.user_id)
