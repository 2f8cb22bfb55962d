"""COMPILE-ONLY Java stand-ins for android.* / androidx.* / com.google.android.material.*, generated
from chaquopy-stubs .pyi files (type stubs generated from android.jar and the AndroidX AARs).
Never shipped: api_check hands them to kotlinc so the app's Kotlin is type-checked without an SDK.

What the .pyi files keep: classes, nesting, supertypes, generic parameters, public constructors,
methods (static or not, overloads, varargs), fields, `| None` on returns and parameters.
What they lose, and what this generator assumes instead (so a check here can pass code a real
build refuses, or refuse code it accepts, in these corners only):
  * interface vs class: a type is an interface when it has no constructor, no static method and only
    interfaces (or java.lang.Object) as supertypes; single-method interfaces keep the method abstract
    (lambda conversion works), other interfaces get default methods (missing overrides go unseen);
  * abstract methods of classes: none are abstract;
  * `int` returns may be long and `float` returns double in Java: a setter of the same property
    decides, else int / float;
  * wildcards (? extends) and generic method signatures erased by the stub generator (e.g.
    Activity.findViewById returns View, so the app casts) are not restored;
  * Kotlin `object`s of Kotlin-written AndroidX classes are Java classes with a static INSTANCE.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile

ROOTS = {"android-stubs": "android", "androidx-stubs": "androidx", "com-stubs": "com"}
PRIMS = {"jint": "int", "jlong": "long", "jfloat": "float", "jdouble": "double", "jboolean": "boolean",
         "jbyte": "byte", "jshort": "short", "jchar": "char"}
ARRAYS = {"JavaArrayJInt": "int[]", "JavaArrayJLong": "long[]", "JavaArrayJFloat": "float[]",
          "JavaArrayJDouble": "double[]", "JavaArrayJBoolean": "boolean[]", "JavaArrayJByte": "byte[]",
          "JavaArrayJShort": "short[]", "JavaArrayJChar": "char[]"}
KEYWORDS = set("""abstract assert boolean break byte case catch char class const continue default do double
else enum extends final finally float for goto if implements import instanceof int interface long native new
package private protected public return short static strictfp super switch synchronized this throw throws
transient try void volatile while true false null var record yield""".split())
DEFAULTS = {"int": "0", "long": "0L", "float": "0f", "double": "0d", "boolean": "false", "byte": "0",
            "short": "0", "char": "'\\0'"}


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else base + "." + node.attr
    return None


class Cls:
    def __init__(self, pkg, path, node, outer):
        self.pkg, self.path, self.node, self.outer = pkg, path, node, outer  # path: "Bitmap.Config"
        self.fqn = pkg + "." + path
        self.nested = []
        self.typevars = {}      # visible TypeVar name -> bound node (module + class bodies)
        self.params = []        # own generic parameters
        for b in node.bases:
            if isinstance(b, ast.Subscript) and dotted(b.value) == "typing.Generic":
                sl = b.slice
                elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
                self.params = [dotted(e) for e in elts]

    def body(self, kind):
        for st in self.node.body:
            if isinstance(st, kind):
                yield st


class Index:
    def __init__(self, root):
        self.classes = {}           # fqn -> Cls
        self.modules = {}           # pkg -> {top-level name: Cls}
        self.module_typevars = {}   # pkg -> {name: bound}
        for top, prefix in ROOTS.items():
            base = os.path.join(root, top)
            for dirpath, _, files in os.walk(base):
                if "__init__.pyi" not in files:
                    continue
                rel = os.path.relpath(dirpath, base)
                pkg = prefix if rel == "." else prefix + "." + rel.replace(os.sep, ".")
                with open(os.path.join(dirpath, "__init__.pyi"), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                self.modules.setdefault(pkg, {})
                tvs = self.module_typevars.setdefault(pkg, {})
                for st in tree.body:
                    tv = typevar(st)
                    if tv:
                        tvs[tv[0]] = tv[1]
                    elif isinstance(st, ast.ClassDef):
                        self._add(pkg, st, None)

    def _add(self, pkg, node, outer):
        path = node.name if outer is None else outer.path + "." + node.name
        c = Cls(pkg, path, node, outer)
        if c.fqn in self.classes:
            return
        self.classes[c.fqn] = c
        if outer is None:
            self.modules[pkg][node.name] = c
        else:
            outer.nested.append(c)
        for st in node.body:
            if isinstance(st, ast.ClassDef):
                self._add(pkg, st, c)

    def resolve(self, name, pkg):
        """A dotted pyi name -> the fqn of an indexed class, or None."""
        if name is None:
            return None
        parts = name.split(".")
        mod = self.modules.get(pkg, {})
        if parts[0] in mod:                       # same-module (possibly nested) reference
            fqn = pkg + "." + name
            return fqn if fqn in self.classes else None
        for i in range(len(parts) - 1, 0, -1):    # longest module prefix
            p = ".".join(parts[:i])
            if p in self.modules:
                fqn = name
                return fqn if fqn in self.classes else None
        return None


def typevar(st):
    if isinstance(st, ast.Assign) and isinstance(st.value, ast.Call) and dotted(st.value.func) == "typing.TypeVar":
        name = st.targets[0].id
        bound = next((k.value for k in st.value.keywords if k.arg == "bound"), None)
        return name, bound
    return None


class Gen:
    def __init__(self, index, jdk_interfaces):
        self.ix = index
        self.jdk_interfaces = jdk_interfaces
        self._iface = {}

    # ---- kinds ----
    def is_enum(self, c):
        return any(dotted(b.value if isinstance(b, ast.Subscript) else b) == "java.lang.Enum" for b in c.node.bases)

    def is_interface(self, c):
        if c.fqn in self._iface:
            return self._iface[c.fqn]
        self._iface[c.fqn] = False  # cycles
        result = not self.is_enum(c)
        for st in c.body(ast.FunctionDef):
            if st.name == "__init__" or any(dotted(d) == "staticmethod" for d in st.decorator_list):
                result = False
        if result:
            for b in c.node.bases:
                n = dotted(b.value if isinstance(b, ast.Subscript) else b)
                if n in ("java.lang.Object", "typing.Generic"):
                    continue
                fqn = self.ix.resolve(n, c.pkg)
                if fqn is not None:
                    if not self.is_interface(self.ix.classes[fqn]):
                        result = False
                elif n not in self.jdk_interfaces:
                    result = False
        self._iface[c.fqn] = result
        return result

    # ---- types ----
    def jtype(self, node, c, tvs, setter_hint=None):
        """(java type, nullable)"""
        members = []

        def flat(n):
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
                flat(n.left)
                flat(n.right)
            else:
                members.append(n)
        flat(node)
        nullable = any(isinstance(m, ast.Constant) and m.value is None for m in members)
        members = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
        names = [dotted(m) for m in members]
        for n in names:
            if n and n.startswith("java.") and n[5:] in PRIMS:
                return PRIMS[n[5:]], False
        if not members:
            return "void", False
        if "str" in names or "java.lang.String" in names:
            return "String", nullable
        m = members[0]
        n = names[0]
        if n in ("int", "float", "bool"):
            if setter_hint:
                return setter_hint, False
            return {"int": "int", "float": "float", "bool": "boolean"}[n], False
        return self.ref(m, c, tvs), nullable

    def ref(self, m, c, tvs):
        if isinstance(m, ast.Subscript):
            base = dotted(m.value)
            sl = m.slice
            elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
            if base == "java.chaquopy.JavaArray":
                inner = self.ref(elts[0], c, tvs)
                return inner + "[]"
            if base == "typing.Type":  # the stub generator erased the wildcard: Class<?> / Class<? extends X>
                arg = self.boxed(self.ref(elts[0], c, tvs))
                if arg == "java.lang.Object" or arg == "Object":
                    return "Class<?>"
                return "Class<" + arg + ">" if dotted(elts[0]) in tvs else "Class<? extends " + arg + ">"
            head = self.name(base, c, tvs)
            if head == "Object":
                return "Object"
            return head + "<" + ", ".join(self.boxed(self.ref(e, c, tvs)) for e in elts) + ">"
        n = dotted(m)
        if n and n.startswith("java.chaquopy."):
            return ARRAYS.get(n[len("java.chaquopy."):], "Object[]")
        if n and n.startswith("java.") and n[5:] in PRIMS:
            return PRIMS[n[5:]]
        if n in ("int",):
            return "int"
        if n in ("float",):
            return "float"
        if n in ("bool",):
            return "boolean"
        if n in ("str",):
            return "String"
        return self.name(n, c, tvs)

    def name(self, n, c, tvs):
        if n is None or n in ("typing.Any", "typing.Callable", "typing.Sequence", "typing.Iterator"):
            return "Object"
        if n in tvs:
            return tvname(n)
        fqn = self.ix.resolve(n, c.pkg)
        if fqn:
            return fqn
        if n.startswith(("java.", "javax.", "kotlin.", "org.json.", "org.w3c.", "org.xml.")):
            return n
        return "Object"

    @staticmethod
    def boxed(t):
        return {"int": "Integer", "long": "Long", "float": "Float", "double": "Double", "boolean": "Boolean",
                "byte": "Byte", "short": "Short", "char": "Character"}.get(t, t)

    # ---- emit ----
    def visible_typevars(self, c):
        tvs = dict(self.ix.module_typevars.get(c.pkg, {}))
        chain = []
        k = c
        while k:
            chain.append(k)
            k = k.outer
        for k in reversed(chain):
            for st in k.node.body:
                tv = typevar(st)
                if tv:
                    tvs[tv[0]] = tv[1]
        return tvs

    def emit_class(self, c, out, indent, nested):
        pad = "    " * indent
        tvs = self.visible_typevars(c)
        iface = self.is_interface(c)
        enum = self.is_enum(c)
        own = [p for p in c.params if p]
        gparams = ""
        if own:
            gparams = "<" + ", ".join(self.tvdecl(p, tvs, c) for p in own) + ">"
        scope = set(own)
        extends, implements = None, []
        for b in c.node.bases:
            n = dotted(b.value if isinstance(b, ast.Subscript) else b)
            if n in ("java.lang.Object", "typing.Generic") or (enum and n == "java.lang.Enum"):
                continue
            t = self.ref(b, c, scope)
            if t == "Object":
                continue
            fqn = self.ix.resolve(n, c.pkg)
            is_if = self.is_interface(self.ix.classes[fqn]) if fqn else n in self.jdk_interfaces
            if iface or is_if:
                implements.append(t)
            elif extends is None:
                extends = t
        kind = "interface" if iface else ("enum" if enum else "class")
        head = pad + "public " + ("static " if nested else "") + kind + " " + c.node.name + gparams
        if iface and implements:
            head += " extends " + ", ".join(implements)
        else:
            if extends and not enum:
                head += " extends " + extends
            if implements:
                head += " implements " + ", ".join(implements)
        out.append(head + " {")
        inner = pad + "    "
        consts = []
        fields = []
        for st in c.body(ast.AnnAssign):
            ann = st.annotation
            static = isinstance(ann, ast.Subscript) and dotted(ann.value) == "typing.ClassVar"
            t_node = ann.slice if static else ann
            if enum and static and self.ix.resolve(dotted(t_node), c.pkg) == c.fqn:
                consts.append(st.target.id)
                continue
            t, nullable = self.jtype(t_node, c, scope)
            name = safe(st.target.id)
            if iface:
                fields.append(f"{inner}{ann_of(nullable)}{t} {name} = {DEFAULTS.get(t, 'null')};")
            else:
                fields.append(f"{inner}public {'static ' if static else ''}{ann_of(nullable)}{t} {name};")
        if enum:
            out.append(inner + (", ".join(consts) if consts else "") + ";")
        out.extend(fields)
        methods = [st for st in c.body(ast.FunctionDef)]
        setters = {}
        for st in methods:
            if st.name.startswith("set") and len(params_of(st)) == 1:
                a = params_of(st)[0].annotation
                if a is not None:
                    t, _ = self.jtype(a, c, scope | set(tvs))
                    setters.setdefault(st.name[3:], set()).add(t)
        # a getter's int/float return is widened only when the one setter of the property says so
        setters = {k: next(iter(v)) for k, v in setters.items() if len(v) == 1}
        abstract_ok = iface and len([m for m in methods if not is_static(m)]) == 1
        seen = set()
        for st in methods:
            if enum and st.name in ("values", "valueOf"):
                continue
            static = is_static(st)
            ps = params_of(st)
            mscope = set(scope)
            # method-level generics: visible TypeVars used here that are not the class's own
            used = [n for n in names_in(st) if n in tvs and n not in scope]
            gdecl = ""
            if used:
                uniq = list(dict.fromkeys(used))
                gdecl = "<" + ", ".join(self.tvdecl(u, tvs, c) for u in uniq) + "> "
                mscope |= set(uniq)
            plist = []
            for p in ps:
                t, nullable = self.jtype(p.annotation, c, mscope) if p.annotation is not None else ("Object", False)
                plist.append((t, safe(p.arg), nullable, getattr(p, "_vararg", False)))
            sig = (st.name, tuple(x[0] for x in plist), static)
            if sig in seen:
                continue
            seen.add(sig)
            params = ", ".join(f"{ann_of(nl)}{t}{'...' if va else ''} {n}" for t, n, nl, va in plist)
            if st.name == "__init__":  # constructors (interfaces and enums get none)
                if not iface and not enum:
                    out.append(f"{inner}public {c.node.name}({params}) {{ throw null; }}")
                continue
            hint = None
            if st.name.startswith(("get", "is")):
                prop = st.name[3:] if st.name.startswith("get") else st.name[2:]
                hint = setters.get(prop)
                if hint not in ("long", "double", "int", "float", "boolean"):
                    hint = None
            rt, rnull = self.jtype(st.returns, c, mscope, setter_hint=hint) if st.returns is not None else ("void", False)
            mname = safe(st.name)
            if iface:
                if static:
                    body = f"public static {gdecl}{ann_of(rnull)}{rt} {mname}({params}) {{ throw null; }}"
                elif abstract_ok:
                    body = f"{gdecl}{ann_of(rnull)}{rt} {mname}({params});"
                else:
                    body = f"default {gdecl}{ann_of(rnull)}{rt} {mname}({params}) {{ throw null; }}"
            else:
                body = f"public {'static ' if static else ''}{gdecl}{ann_of(rnull)}{rt} {mname}({params}) {{ throw null; }}"
            out.append(inner + body)
        for k in c.nested:
            self.emit_class(k, out, indent + 1, True)
        out.append(pad + "}")

    def tvdecl(self, p, tvs, c):
        bound = tvs.get(p)
        name = tvname(p)
        if bound is None:
            return name
        b = self.ref(bound, c, set())
        return name if b == "Object" else f"{name} extends {b}"


def tvname(n):
    return n  # the pyi names (e.g. _ArrayAdapter__T) are valid Java identifiers and never clash


def ann_of(nullable):
    return "@androidx.annotation.Nullable " if nullable else ""


def safe(n):
    return n + "_" if n in KEYWORDS else n


def is_static(st):
    return any(dotted(d) == "staticmethod" for d in st.decorator_list)


def params_of(st):
    a = st.args
    ps = list(a.posonlyargs) + list(a.args)
    if ps and ps[0].arg == "self":
        ps = ps[1:]
    if a.vararg is not None:  # `*keys: T` is Java's `T... keys`
        a.vararg._vararg = True
        ps.append(a.vararg)
    return ps


def names_in(st):
    out = []
    for n in ast.walk(st):
        if isinstance(n, ast.Name):
            out.append(n.id)
    return out


def jdk_interfaces(names):
    """Which of these JDK names are interfaces (asked of the running JDK once)."""
    names = sorted(n for n in names if n.startswith("java."))
    if not names:
        return set()
    src = ("public class Kinds { public static void main(String[] a) throws Exception {"
           " for (String n : a) { try { if (Class.forName(n).isInterface()) System.out.println(n); }"
           " catch (Throwable t) { } } } }")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "Kinds.java")
        with open(p, "w") as f:
            f.write(src)
        r = subprocess.run(["java", p] + names, capture_output=True, text=True, check=True)
    return set(r.stdout.split())


def generate(stub_root, out_dir):
    ix = Index(stub_root)
    jdk_names = set()
    for c in ix.classes.values():
        for b in c.node.bases:
            n = dotted(b.value if isinstance(b, ast.Subscript) else b)
            if n and n.startswith("java."):
                jdk_names.add(n)
    g = Gen(ix, jdk_interfaces(jdk_names))
    count = 0
    for pkg, mod in ix.modules.items():
        d = os.path.join(out_dir, *pkg.split("."))
        os.makedirs(d, exist_ok=True)
        for name, c in mod.items():
            lines = [f"// COMPILE-ONLY STAND-IN, never shipped: generated by android_demo/tools/pyi2java.py "
                     f"from chaquopy-stubs .pyi ({pkg}).", f"package {pkg};", ""]
            g.emit_class(c, lines, 0, False)
            with open(os.path.join(d, name + ".java"), "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            count += 1
    # the nullability annotation the stubs use (Kotlin reads androidx.annotation.Nullable)
    d = os.path.join(out_dir, "androidx", "annotation")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "Nullable.java"), "w") as f:
        f.write("// COMPILE-ONLY STAND-IN, never shipped.\npackage androidx.annotation;\n"
                "public @interface Nullable {}\n")
    return count


if __name__ == "__main__":
    n = generate(sys.argv[1], sys.argv[2])
    print(f"{n} top-level classes written to {sys.argv[2]}")
