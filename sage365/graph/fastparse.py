"""Make msgraph-sdk's model parsing affordable for a fleet of tenants.

msgraph-sdk 1.x generates `Entity.get_field_deserializers` with about 2,400 `from .x import
X` statements in its body (type-hint imports kept at run time). Every parsed object that
derives from Entity (users, service principals, grants, groups, ...) runs them all: about
3 ms of CPU per object, which made the drift engine CPU-bound at ~20 tenants/s.

The method's result is only two deserializers, `id` and `@odata.type`. `install()` swaps
in a method that builds those same two, after checking on a live probe that the SDK's
own method still returns exactly these keys and sets the same attributes; on any other
SDK it changes nothing. There is no SDK option for this, hence the patch.
"""

from __future__ import annotations

from typing import Any, Callable

from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.entity import Entity

_EXPECTED_KEYS = {"id", "@odata.type"}
SDK_METHOD = Entity.get_field_deserializers  # the SDK's own, kept for the equivalence tests
_installed = False


def _fast_field_deserializers(self: Entity) -> dict[str, Callable[[Any], None]]:
    return {
        "id": lambda n: setattr(self, "id", n.get_str_value()),
        "@odata.type": lambda n: setattr(self, "odata_type", n.get_str_value()),
    }


def _same_behaviour(original: Callable[[Entity], dict]) -> bool:
    """True when the SDK's method has exactly the two fields we replace it with."""
    probe = Entity()
    fields = original(probe)
    if set(fields) != _EXPECTED_KEYS:
        return False
    fields["id"](JsonParseNode("probe-id"))
    fields["@odata.type"](JsonParseNode("#microsoft.graph.entity"))
    return (probe.id, probe.odata_type) == ("probe-id", "#microsoft.graph.entity")


def install() -> bool:
    """Swap in the fast method if, and only if, it is equivalent; True when installed."""
    global _installed
    if not _installed and _same_behaviour(Entity.get_field_deserializers):
        Entity.get_field_deserializers = _fast_field_deserializers  # type: ignore[method-assign]
        _installed = True
    return _installed
