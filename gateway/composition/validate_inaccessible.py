"""``REFERENCED_INACCESSIBLE``: what clients see must not reference an ``@inaccessible`` type.

Used by composition (:mod:`.validate`) and again on a contract's filtered supergraph (:mod:`.contracts`).
"""

from __future__ import annotations

from .errors import CompositionError
from .supergraph import ComposedSupergraph


def check_inaccessible(sg: ComposedSupergraph) -> list[CompositionError]:
    """Elements clients see must not reference @inaccessible types (REFERENCED_INACCESSIBLE)."""
    hidden = {t.name for t in sg.types.values() if t.deco.inaccessible}
    errors: list[CompositionError] = []
    for t in sg.types.values():
        if t.deco.inaccessible:
            continue
        for f in t.fields.values():
            if not f.deco.inaccessible and f.type.named in hidden:
                errors.append(
                    CompositionError(
                        "REFERENCED_INACCESSIBLE",
                        f'Type "{f.type.named}" is @inaccessible but is referenced by "{t.name}.{f.name}", which is '
                        "in the API schema.",
                        sg.field_subgraphs(t, f),
                        f"{t.name}.{f.name}",
                    )
                )
            for a in f.args.values():
                if not a.deco.inaccessible and not f.deco.inaccessible and a.type.named in hidden:
                    errors.append(
                        CompositionError(
                            "REFERENCED_INACCESSIBLE",
                            f'Type "{a.type.named}" is @inaccessible but is referenced by '
                            f'"{t.name}.{f.name}({a.name}:)", which is in the API schema.',
                            sg.field_subgraphs(t, f),
                            f"{t.name}.{f.name}({a.name}:)",
                        )
                    )
        for a in t.input_fields.values():
            if not a.deco.inaccessible and a.type.named in hidden:
                errors.append(
                    CompositionError(
                        "REFERENCED_INACCESSIBLE",
                        f'Type "{a.type.named}" is @inaccessible but is referenced by "{t.name}.{a.name}", which is '
                        "in the API schema.",
                        sg.type_subgraphs(t),
                        f"{t.name}.{a.name}",
                    )
                )
    return errors
