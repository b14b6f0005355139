"""`toolwire serve`: the OpenAI- and Anthropic-compatible server on one model (loopback by
default), or with `--upstream` a stateless gateway in front of another engine server
(llama.cpp, vLLM, SGLang, toolwire): toolwire renders, constrains and parses, the upstream
generates."""

from __future__ import annotations

import argparse
import logging
import sys

from toolwire.commands._policies import add_policy_flags, policies_from_args

__all__ = ["default_slots", "main", "register", "run"]

SLOT_TOKENS = 16384
"""Context tokens spread over the default slots: the KV cache they take stays small (about
200 MB on the default model) and a few slots already give most of what batching gains on a
CPU (docs/benchmarks.md, `toolwire bench serve`)."""
MAX_DEFAULT_SLOTS = 4


def default_slots(ctx: int) -> int:
    """The slots `serve` runs when `--parallel` is not given."""
    return max(1, min(MAX_DEFAULT_SLOTS, SLOT_TOKENS // max(ctx, 1)))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `serve` subcommand."""
    from toolwire.engine.remote import KINDS
    from toolwire.models import DEFAULT_MODEL
    from toolwire.server.app import DEFAULT_MAX_TOKENS

    parser = subparsers.add_parser(
        "serve", help="serve a model over the OpenAI and Anthropic APIs",
        description="Serve /v1/chat/completions, /v1/responses (OpenAI), /v1/messages (Anthropic), all with tools "
                    "and streaming, plus /v1/completions, /v1/models and /health.")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="packaged model name, .gguf path or hf:owner/repo/file.gguf")
    parser.add_argument("--format", default=None, help="wire format (default: detected from the chat template)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--api-key", default=None, help="require `Authorization: Bearer KEY` or `x-api-key: KEY`")
    parser.add_argument("--alias", action="append", default=[], metavar="NAME",
                        help="another name a request's `model` may give (repeatable); other names get 404. "
                             "For clients that send a hosted model's name, such as Claude Code")
    parser.add_argument("--ctx", type=int, default=4096, help="context size in tokens")
    parser.add_argument("--max-queue", type=int, default=8, help="requests that may wait; more get 429")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, metavar="N",
                        help=f"token limit of a chat request that sets none (default {DEFAULT_MAX_TOKENS}; a request "
                             "may ask for more, up to the context)")
    parser.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                        help="info adds one access line per request (toolwire.access)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the engine check (a few tokens decoded in a subprocess) before serving")
    add_policy_flags(parser)
    parser.add_argument("--parallel", "--concurrency", dest="parallel", type=int, default=None, metavar="N",
                        help="generations at once: N slots decoding in one batch, each with --ctx tokens of context "
                             f"(default {SLOT_TOKENS} // --ctx, between 1 and {MAX_DEFAULT_SLOTS}: 4 at --ctx 4096; "
                             "with --upstream 32, whose server batches)")
    gateway = parser.add_argument_group("gateway", "generate on another server instead of loading --model")
    gateway.add_argument("--upstream", default=None, metavar="URL", help="the engine server's base URL")
    gateway.add_argument("--upstream-kind", default="llama.cpp", choices=KINDS, help="what the upstream is")
    gateway.add_argument("--upstream-model", default=None, metavar="NAME",
                         help="the served model's name (default: the first the upstream lists)")
    gateway.add_argument("--upstream-api-key", default=None, metavar="KEY", help="the upstream's API key")
    gateway.add_argument("--upstream-grammar", default=None,
                         choices=("structural-tag", "ebnf", "lark", "gbnf", "lazy-gbnf"),
                         help="the grammar form the upstream takes: vLLM structural-tag (default) or lark (with "
                              "--structured-outputs-config.backend guidance) or ebnf; SGLang ebnf (default), "
                              "structural-tag or lark (with --grammar-backend llguidance); llama.cpp gbnf "
                              "(default) or lazy-gbnf (grammar_lazy from the trigger on)")
    gateway.add_argument("--chat-template", default=None, metavar="FILE",
                         help="the model's Jinja chat template (vLLM and SGLang do not report theirs)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the model (or connect to the upstream), then serve until interrupted."""
    import uvicorn

    from toolwire.server import create_app

    if args.max_queue < 0:
        raise ValueError("--max-queue must be 0 or more")
    if args.parallel is not None and args.parallel < 1:
        raise ValueError("--parallel must be 1 or more")
    if args.max_tokens < 1:
        raise ValueError("--max-tokens must be 1 or more")
    model = _upstream_model(args) if args.upstream else _local_model(args)
    if model is None:
        return 1
    concurrency = args.parallel or (32 if args.upstream else default_slots(args.ctx))
    app = create_app(model, api_key=args.api_key, max_queue=args.max_queue, concurrency=concurrency,
                     aliases=args.alias, default_max_tokens=args.max_tokens)
    via = f" via {args.upstream_kind} at {args.upstream}" if args.upstream else ""
    print(f"toolwire: serving {model.name}{via} on http://{args.host}:{args.port}/v1", flush=True)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # toolwire.access writes one line per request (info), so uvicorn's own access log is off
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                timeout_graceful_shutdown=5)
    return 0


def _local_model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The model loaded in this process, after the engine check (None: it failed)."""
    from toolwire.chat import load
    from toolwire.doctor import check_engine
    from toolwire.models import resolve_model

    path = resolve_model(args.model)
    if not args.no_check:
        # a llama.cpp build this machine cannot run dies in native code: find out in a
        # subprocess, before binding the port, rather than at the first request
        check = check_engine(path, tokens=8)
        if not check.ok:
            print(f"toolwire: cannot serve: {check.diagnosis()}", file=sys.stderr, flush=True)
            return None
    model = load(str(path), format=args.format, n_ctx=args.ctx, policies=policies_from_args(args),
                 slots=args.parallel or default_slots(args.ctx))
    model.name = args.model
    model.engine.lltokenizer  # build the grammar tokenizer now, not in the first request
    return model


def _upstream_model(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The gateway's model: no local engine is loaded."""
    from pathlib import Path

    from toolwire.gateway import connect

    template = Path(args.chat_template).read_text(encoding="utf-8") if args.chat_template else None
    return connect(args.upstream, kind=args.upstream_kind, format=args.format, chat_template=template,
                   model=args.upstream_model, api_key=args.upstream_api_key, grammar=args.upstream_grammar,
                   policies=policies_from_args(args))


def main(argv: list[str] | None = None) -> int:
    """`python -m toolwire.commands.serve ...`: the same command without the other subcommands."""
    parser = argparse.ArgumentParser(prog="toolwire")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
