"""Constraints, and the grammars that enforce them in each engine's dialect.

    constraints.py     what an engine is asked to enforce (`ToolCallConstraint`,
                       `JsonConstraint`, `LarkConstraint`) and the `Vocabulary` facts it needs
    ir.py              the grammar IR: rules of sequences, alternatives and repetitions over
                       literals, special tokens, JSON values, free text and text ended by a trigger
    builder.py         `CallSyntax` + tools + `tool_choice` -> IR; format-blind
    lark.py            IR -> llguidance Lark (in-process engine; guidance/llguidance servers)
    gbnf.py            IR -> llama.cpp GBNF (JSON parts from llama-cpp-python's converter)
    ebnf.py            IR -> xgrammar EBNF (vLLM's and SGLang's default backend)
    structural_tag.py  `ToolCallConstraint` -> xgrammar structural tag (triggered tags)

One grammar description compiles to every dialect. A dialect that cannot express a
construct raises `ConstraintUnsupported` (never generates unconstrained).

Adding a construct (a new format needs, say, XML parameters or a reasoning block):
  1. describe it as data in `formats/base.CallSyntax` (the builder knows formats only
     through it);
  2. add an IR record to `ir.py` if no combination of the existing ones expresses it
     (most things are `Seq`/`Alt`/`Repeat` over `Literal`, `Json` and `Text`), and add it
     to `walk` if it has children;
  3. produce it in `builder.py`;
  4. give every renderer (`lark.py`, `gbnf.py`, `ebnf.py`, `structural_tag.py`) a case;
  5. the dialect tests in `tests/constrain/` render every format's replies and check each
     dialect accepts them and rejects schema-invalid ones.
"""

from toolwire.constrain.builder import build_grammar
from toolwire.constrain.constraints import (
    Constraint,
    JsonConstraint,
    LarkConstraint,
    ToolCallConstraint,
    Vocabulary,
    closed_schema,
    response_format_constraint,
)
from toolwire.constrain.lark import JSON_STYLE, lark_grammar

__all__ = [
    "JSON_STYLE",
    "Constraint",
    "JsonConstraint",
    "LarkConstraint",
    "ToolCallConstraint",
    "Vocabulary",
    "build_grammar",
    "closed_schema",
    "lark_grammar",
    "response_format_constraint",
]
