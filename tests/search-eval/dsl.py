"""Compact notation for tool definitions used by generate.py.

A parameter is "name:type:description"; a trailing "!" on the type marks it required.
A dict right after an object/array parameter gives its nested properties (for arrays,
the properties of each item), so the evaluation also exercises nested schemas.
"""


def _param(spec):
    name, typ, desc = spec.split(":", 2)
    required = typ.endswith("!")
    typ = typ.rstrip("!")
    schema = {"type": typ, "description": desc}
    if typ == "array":
        schema["items"] = {"type": "string"}
    return name, schema, required


def _object(specs):
    props, required, last = {}, [], None
    for spec in specs:
        if isinstance(spec, dict):
            for parent, children in spec.items():
                nested = _object(children)
                if props[parent]["type"] == "array":
                    props[parent]["items"] = nested
                else:
                    props[parent].update(nested)
            continue
        name, schema, req = _param(spec)
        props[name] = schema
        if req:
            required.append(name)
        last = name
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def T(target, name, description, params):
    return {
        "target": target,
        "name": name,
        "description": description,
        "inputSchema": _object(params),
    }
