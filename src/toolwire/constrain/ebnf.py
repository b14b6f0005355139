"""The IR as xgrammar EBNF (SGLang's `ebnf` field; the `grammar` content of a structural
tag). Special tokens are written by their text: xgrammar matches tokens by text and never
produces the tokens its tokenizer marks special. JSON values come from llama-cpp-python's
JSON-schema converter, whose GBNF xgrammar parses."""

from __future__ import annotations

from toolwire.constrain._bnf import BnfWriter
from toolwire.constrain.builder import build_grammar
from toolwire.constrain.constraints import Constraint, LarkConstraint, Vocabulary
from toolwire.constrain.ir import Grammar

__all__ = ["ebnf_grammar", "render_ebnf"]


class _EbnfWriter(BnfWriter):
    dialect = "xgrammar ebnf"
    tokens_by_id = False


def render_ebnf(grammar: Grammar) -> str:
    """`grammar` in xgrammar's EBNF, rooted at `root`."""
    return _EbnfWriter(grammar).write()


def ebnf_grammar(constraint: Constraint, vocabulary: Vocabulary = Vocabulary()) -> str:
    """The xgrammar EBNF grammar for `constraint` (a Lark grammar has no EBNF form)."""
    if isinstance(constraint, LarkConstraint):
        from toolwire.engine.base import ConstraintUnsupported

        raise ConstraintUnsupported("grammar: a Lark grammar cannot be sent as xgrammar EBNF")
    return render_ebnf(build_grammar(constraint, vocabulary))
