# Finds plugin tools in Python sources without running them: reads a JSON list of
# {"file", "source"} on stdin and prints a JSON list of tools or problems:
# {"file", "function", "name", "description", "parameters"} | {"file", "error"}.
# A tool is a module-level function decorated with @tool, @tool(...) or @<module>.tool(...).
import ast
import json
import re
import sys

SIMPLE = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "bool": {"type": "boolean"},
    "list": {"type": "array"},
    "List": {"type": "array"},
    "Sequence": {"type": "array"},
    "tuple": {"type": "array"},
    "dict": {"type": "object"},
    "Dict": {"type": "object"},
    "Mapping": {"type": "object"},
    "Any": {},
    "object": {},
}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def base_name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def schema_of(ann):
    """(schema, optional) of an annotation node."""
    if ann is None:
        return {"type": "string"}, False
    if isinstance(ann, ast.Constant) and ann.value is None:
        return {"type": "null"}, True
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            return schema_of(ast.parse(ann.value, mode="eval").body)
        except SyntaxError:
            return {"type": "string"}, False
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        parts = [ann.left, ann.right]
        non_none = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
        if len(non_none) == 1:
            return schema_of(non_none[0])[0], True
        return {"anyOf": [schema_of(p)[0] for p in parts]}, False
    name = base_name(ann)
    if name in SIMPLE:
        return dict(SIMPLE[name]), False
    if isinstance(ann, ast.Subscript):
        outer = base_name(ann.value)
        args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if outer == "Optional":
            return schema_of(args[0])[0], True
        if outer == "Union":
            non_none = [a for a in args if not (isinstance(a, ast.Constant) and a.value is None)]
            if len(non_none) == 1:
                return schema_of(non_none[0])[0], len(non_none) < len(args)
            return {"anyOf": [schema_of(a)[0] for a in non_none]}, len(non_none) < len(args)
        if outer == "Literal":
            values = [a.value for a in args if isinstance(a, ast.Constant)]
            s = {"enum": values}
            kinds = {type(v) for v in values}
            if kinds == {str}:
                s["type"] = "string"
            elif kinds <= {int}:
                s["type"] = "integer"
            return s, False
        if outer in ("list", "List", "Sequence", "set", "Set", "tuple"):
            return {"type": "array", "items": schema_of(args[0])[0]}, False
        if outer in ("dict", "Dict", "Mapping"):
            value = schema_of(args[-1])[0] if len(args) == 2 else {}
            return {"type": "object", "additionalProperties": value}, False
    return {"type": "string"}, False


def tool_decorator(func):
    for d in func.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if base_name(target) == "tool":
            opts = {}
            if isinstance(d, ast.Call):
                for kw in d.keywords:
                    if kw.arg in ("name", "description") and isinstance(kw.value, ast.Constant):
                        opts[kw.arg] = kw.value.value
            return opts
    return None


def parse_doc(doc):
    """(description, {param: text}) from a docstring with an optional Args: section."""
    if not doc:
        return "", {}
    lines = doc.strip().splitlines()
    desc, params, in_args, current = [], {}, False, None
    for line in lines:
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:", "params:"):
            in_args = True
            continue
        if in_args:
            if stripped.lower() in ("returns:", "raises:", "yields:", "examples:", "example:"):
                in_args = False
                continue
            m = re.match(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            if m:
                current = m.group(1).lstrip("*")
                params[current] = m.group(3)
            elif current and stripped:
                params[current] += " " + stripped
        elif not in_args:
            desc.append(stripped)
    text = " ".join(" ".join(desc).split("  "))
    first_para = doc.strip().split("\n\n")[0]
    return " ".join(first_para.split()) if first_para else text.strip(), params


def tools_of(file, source):
    out = []
    try:
        tree = ast.parse(source, file)
    except SyntaxError as e:
        return [{"file": file, "error": "syntax error at line %s: %s" % (e.lineno, e.msg)}]
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        opts = tool_decorator(node)
        if opts is None:
            continue
        if isinstance(node, ast.AsyncFunctionDef):
            out.append({"file": file, "error": "%s: async functions are not supported" % node.name})
            continue
        name = opts.get("name") or node.name
        if not NAME_RE.match(name):
            out.append({"file": file, "error": "%r is not a valid tool name" % name})
            continue
        desc, pdocs = parse_doc(ast.get_docstring(node))
        desc = opts.get("description") or desc or "Plugin tool %s from %s." % (name, file)
        a = node.args
        props, required = {}, []
        positional = a.posonlyargs + a.args
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        params = list(zip(positional, defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
        for arg, default in params:
            if arg.arg in ("self", "cls"):
                continue
            schema, optional = schema_of(arg.annotation)
            if arg.arg in pdocs and pdocs[arg.arg]:
                schema["description"] = pdocs[arg.arg]
            if isinstance(default, ast.Constant) and default.value is not None:
                schema["default"] = default.value
            props[arg.arg] = schema
            if default is None and not optional:
                required.append(arg.arg)
        parameters = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            parameters["required"] = required
        out.append({"file": file, "function": node.name, "name": name,
                    "description": desc, "parameters": parameters})
    return out


result = []
for item in json.load(sys.stdin):
    result.extend(tools_of(item["file"], item["source"]))
print(json.dumps(result))
