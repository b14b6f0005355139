"""The IR as llama.cpp GBNF (`llama-server` `/completion` `grammar`, or
`llama_cpp.LlamaGrammar`). Special tokens are written `<[id]>`; free text, which llama.cpp
matches against token texts (special tokens included), excludes a trigger explicitly.
JSON values come from llama-cpp-python's JSON-schema converter."""

from __future__ import annotations

from toolwire.constrain._bnf import BnfWriter
from toolwire.constrain.builder import build_grammar
from toolwire.constrain.constraints import Constraint, LarkConstraint, Vocabulary
from toolwire.constrain.ir import Grammar

__all__ = ["gbnf_grammar", "render_gbnf"]


class _GbnfWriter(BnfWriter):
    dialect = "gbnf"
    tokens_by_id = True


def render_gbnf(grammar: Grammar) -> str:
    """`grammar` in GBNF, rooted at `root`."""
    return _GbnfWriter(grammar).write()


def gbnf_grammar(constraint: Constraint, vocabulary: Vocabulary = Vocabulary()) -> str:
    """The GBNF grammar for `constraint` (a Lark grammar has no GBNF form)."""
    if isinstance(constraint, LarkConstraint):
        from toolwire.engine.base import ConstraintUnsupported

        raise ConstraintUnsupported("grammar: a Lark grammar cannot be sent to llama.cpp, which takes GBNF")
    return render_gbnf(build_grammar(constraint, vocabulary))
