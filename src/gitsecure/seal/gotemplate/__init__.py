"""Go ``text/template`` + Sprig, as the sealed-secrets controller renders ``spec.template.data``.

The controller parses each ``spec.template.data[key]`` as a template named
``key``, with Sprig's generic function map minus ``env``, ``expandenv`` and
``getHostByName``, and executes it with the dot bound to a
``map[string]string`` of the decrypted items. :func:`render` reproduces that
for the subset of the language such templates use: text, actions and trim
markers, comments, fields, variables, pipelines, parenthesised expressions,
literals, ``if``/``else if``/``with``/``else with``/``range``/``break``/
``continue``, and the functions in :mod:`gitsecure.seal.gotemplate.funcs`.
``define``, ``template`` and ``block`` are refused.

It is an interpreter over a parse tree, never ``eval``: no Python attribute is
reachable from a template. Output, iterations, evaluation steps and nesting
are bounded so a hostile template fails fast instead of hanging. Error
messages follow Go's (``template: NAME:LINE: ...``) but carry template
positions and Go type names only, never a data value.

The package, in the order a render runs through it:

- :mod:`.lexer` splits the source into tokens, :mod:`.parser` builds the tree
  of :mod:`.nodes`, and :mod:`.evaluate` walks it (:func:`render` lives there);
- :mod:`.funcs` assembles the function table from ``funcs_builtins`` (Go's
  builtins) and the Sprig themes ``funcs_encoding``, ``funcs_strings``,
  ``funcs_math``, ``funcs_defaults`` and ``funcs_collections``;
- underneath: :mod:`.values` (Go's types as Python values), :mod:`.convert`
  (Sprig's lenient conversions), :mod:`.gostrconv`, :mod:`.gofmt` and
  :mod:`.gojson` (the parts of Go's ``strconv``, ``fmt`` and ``encoding/json``
  the functions need), :mod:`.limits` and :mod:`.errors`.
"""

from __future__ import annotations

from gitsecure.seal.gotemplate.errors import TemplateError
from gitsecure.seal.gotemplate.evaluate import render
from gitsecure.seal.gotemplate.limits import MAX_OUTPUT

__all__ = ["MAX_OUTPUT", "TemplateError", "render"]
