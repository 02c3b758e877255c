"""Editing a saved .xlsx package in place, part by part, with namespace-aware XML.

openpyxl drops what it does not model (shapes, charts it did not write, some
formatting) when it re-saves a file, so a workbook a user has edited must not
go through it. :class:`Package` instead loads the package's parts, lets a
caller edit a few XML parts as DOM trees, add or remove parts, relationships
and content types, and saves the result atomically: every part nobody edited
is written back byte for byte.

The XML is edited through :mod:`xml.dom.minidom`, not by string surgery and
not by re-serialising with :mod:`xml.etree`: the DOM keeps every element's
prefix and every ``xmlns`` declaration as parsed, including those only named
by ``mc:Ignorable`` (Excel refuses a part whose ignorable prefixes are
undeclared), and elements are created under whatever prefix the part binds to
their namespace at that point. That matters because openpyxl writes the same
part differently with and without lxml installed (with lxml the
relationships namespace is declared on each ``<sheet>``, not on the root).
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.dom import Node, minidom
from xml.parsers.expat import ExpatError

from udfs.errors import BizcaseError

from .files import replace_atomically

XMLNS = "http://www.w3.org/2000/xmlns/"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
#: The namespace of ``r:id`` attributes and of relationship types.
OFFICE_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@dataclass(frozen=True)
class Relationship:
    """One relationship of a part: ``part`` is the absolute part name it points at,
    ``None`` for a link out of the package (``external``) or to a place
    (``#Sheet!A1``)."""

    id: str
    type: str
    target: str
    part: str | None
    external: bool = False


def rels_name(part: str) -> str:
    """The relationships part of ``part``: ``xl/_rels/workbook.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source: str, target: str) -> str:
    """The absolute part name a relationship of ``source`` targets."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


class Package:
    """The parts of an .xlsx file, editable in memory and saved in one atomic step.

    Read an XML part with :meth:`xml`; to change one, take it with :meth:`edit`,
    which returns the same DOM document and marks it to be written back.
    """

    def __init__(self, parts: dict[str, bytes], where: str, path: Path | None = None):
        self._parts = dict(parts)
        self._order = list(parts)
        self._docs: dict[str, minidom.Document] = {}
        self._edited: set[str] = set()
        self.where = where
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> Package:
        path = Path(path)
        if not zipfile.is_zipfile(path):
            raise BizcaseError(f"{path}: not an Excel workbook (.xlsx)")
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist() if not i.is_dir()}
        return cls(parts, str(path), path)

    @classmethod
    def of_workbook(cls, workbook) -> Package:
        """The package openpyxl writes for ``workbook`` (never saved to disk)."""
        buffer = io.BytesIO()
        workbook.save(buffer)
        with zipfile.ZipFile(buffer) as z:
            parts = {name: z.read(name) for name in z.namelist()}
        return cls(parts, "the generated sheet")

    # --- parts -----------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._parts

    def names(self) -> list[str]:
        return list(self._parts)

    def read(self, name: str) -> bytes:
        if name in self._edited:
            return serialize(self._docs[name])
        try:
            return self._parts[name]
        except KeyError:
            raise BizcaseError(f"{self.where}: part {name} is missing") from None

    def write(self, name: str, data: bytes) -> None:
        self._parts[name] = data
        self._docs.pop(name, None)
        self._edited.discard(name)

    def remove(self, name: str) -> None:
        """Drop a part, its relationships part and its content-type override."""
        for part in (name, rels_name(name)):
            self._parts.pop(part, None)
            self._docs.pop(part, None)
            self._edited.discard(part)
        types = self.edit("[Content_Types].xml").documentElement
        for override in children(types, CONTENT_TYPES, "Override"):
            if override.getAttribute("PartName").lstrip("/") == name:
                types.removeChild(override)

    def xml(self, name: str) -> minidom.Document:
        """The part parsed (once); edit it only through :meth:`edit`."""
        if name not in self._docs:
            try:
                self._docs[name] = minidom.parseString(self.read(name))
            except ExpatError as e:
                raise BizcaseError(f"{self.where}, {name}: not well-formed XML ({e})") from None
        return self._docs[name]

    def edit(self, name: str) -> minidom.Document:
        """The part parsed, to be written back (re-serialised) when the package is saved."""
        doc = self.xml(name)
        self._edited.add(name)
        return doc

    def free_name(self, folder: str, stem: str, ext: str = ".xml") -> str:
        """``folder/stemN.ext`` with N one more than any such part's number."""
        pattern = re.compile(rf"{re.escape(folder)}/{re.escape(stem)}(\d+){re.escape(ext)}")
        used = [int(m.group(1)) for p in self._parts if (m := pattern.fullmatch(p))]
        return f"{folder}/{stem}{max(used, default=0) + 1}{ext}"

    # --- relationships ---------------------------------------------------------

    def relationships(self, source: str) -> list[Relationship]:
        """The relationships of part ``source`` (``""`` for the package's own)."""
        name = rels_name(source) if source else "_rels/.rels"
        if name not in self._parts:
            return []
        out = []
        for rel in children(self.xml(name).documentElement, PACKAGE_RELS, "Relationship"):
            target = rel.getAttribute("Target")
            external = rel.getAttribute("TargetMode") == "External"
            out.append(
                Relationship(
                    rel.getAttribute("Id"),
                    rel.getAttribute("Type"),
                    target,
                    None if external or target.startswith("#") else resolve(source, target),
                    external,
                )
            )
        return out

    def add_relationship(self, source: str, kind: str, target: str, external=False) -> str:
        """Add a relationship of ``source`` (``target`` as written: relative, or
        ``#Sheet!A1`` for a place in the workbook, or a URL when ``external``);
        return its new ``Id``."""
        name = rels_name(source)
        if name not in self._parts:
            self.write(name, _EMPTY_RELS)
        root = self.edit(name).documentElement
        used = [
            int(m.group(1))
            for r in children(root, PACKAGE_RELS, "Relationship")
            if (m := re.fullmatch(r"rId(\d+)", r.getAttribute("Id")))
        ]
        rid = f"rId{max(used, default=0) + 1}"
        attributes = {"Id": rid, "Type": kind, "Target": target}
        if external:
            attributes["TargetMode"] = "External"
        append(root, PACKAGE_RELS, "Relationship", attributes)
        return rid

    def remove_relationship(self, source: str, rid: str) -> None:
        root = self.edit(rels_name(source)).documentElement
        for rel in children(root, PACKAGE_RELS, "Relationship"):
            if rel.getAttribute("Id") == rid:
                root.removeChild(rel)

    # --- content types ---------------------------------------------------------

    def content_type(self, name: str) -> str | None:
        types = self.xml("[Content_Types].xml").documentElement
        for override in children(types, CONTENT_TYPES, "Override"):
            if override.getAttribute("PartName").lstrip("/") == name:
                return override.getAttribute("ContentType")
        ext = posixpath.splitext(name)[1].lstrip(".").lower()
        for default in children(types, CONTENT_TYPES, "Default"):
            if default.getAttribute("Extension").lower() == ext:
                return default.getAttribute("ContentType")
        return None

    def set_content_type(self, name: str, content_type: str) -> None:
        """List part ``name`` with an Override (none needed when its extension's
        Default already says so)."""
        if self.content_type(name) == content_type:
            return
        types = self.edit("[Content_Types].xml").documentElement
        for override in children(types, CONTENT_TYPES, "Override"):
            if override.getAttribute("PartName").lstrip("/") == name:
                override.setAttribute("ContentType", content_type)
                return
        append(
            types, CONTENT_TYPES, "Override", {"PartName": f"/{name}", "ContentType": content_type}
        )

    # --- saving ------------------------------------------------------------------

    def save(self) -> None:
        """Rewrite the file atomically; parts keep their order, new ones go last."""
        path = self.path

        def write(tmp: Path) -> None:
            order = [n for n in self._order if n in self._parts]
            order += [n for n in self._parts if n not in self._order]
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                for name in order:
                    z.writestr(name, self.read(name))

        replace_atomically(path, write, mode=os.stat(path).st_mode & 0o777)


_EMPTY_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{PACKAGE_RELS}"/>'
).encode()


def sheet_parts(package: Package) -> dict[str, str]:
    """Sheet name -> worksheet part name, in workbook order."""
    if "xl/workbook.xml" not in package:
        raise BizcaseError(f"{package.where}: not an Excel workbook (no xl/workbook.xml)")
    rels = {r.id: r.part for r in package.relationships("xl/workbook.xml")}
    sheets = child(package.xml("xl/workbook.xml").documentElement, MAIN, "sheets")
    out = {}
    for sheet in children(sheets, MAIN, "sheet") if sheets is not None else []:
        part = rels.get(sheet.getAttributeNS(OFFICE_RELS, "id"))
        if part is not None:
            out[sheet.getAttribute("name")] = part
    return out


# --- namespace-aware DOM helpers ----------------------------------------------------


def children(parent, namespace: str, local: str) -> list:
    """The child elements of ``parent`` with this namespace URI and local name."""
    return [
        c
        for c in parent.childNodes
        if c.nodeType == Node.ELEMENT_NODE and c.namespaceURI == namespace and c.localName == local
    ]


def child(parent, namespace: str, local: str):
    found = children(parent, namespace, local)
    return found[0] if found else None


def elements(parent) -> list:
    return [c for c in parent.childNodes if c.nodeType == Node.ELEMENT_NODE]


def prefix_in_scope(node, namespace: str, for_attribute: bool = False) -> str | None:
    """The prefix bound to ``namespace`` at ``node`` (``""`` for the default
    namespace, which attributes cannot use), or ``None`` when none is."""
    shadowed = set()
    while node is not None and node.nodeType == Node.ELEMENT_NODE:
        for name, value in node.attributes.items():
            if name == "xmlns" or name.startswith("xmlns:"):
                prefix = name[6:]
                if prefix in shadowed:
                    continue
                shadowed.add(prefix)
                if value == namespace and not (for_attribute and prefix == ""):
                    return prefix
        node = node.parentNode
    return None


_HINTS = {
    OFFICE_RELS: "r",
    MAIN: "x",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "a",
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing": "xdr",
}


def declare(element, namespace: str) -> str:
    """A prefix for ``namespace`` usable on ``element`` and below (attributes too):
    the one in scope, else a fresh one declared on ``element``."""
    prefix = prefix_in_scope(element, namespace, for_attribute=True)
    if prefix is None:
        prefix = _fresh(element, namespace)
        element.setAttributeNS(XMLNS, f"xmlns:{prefix}", namespace)
    return prefix


def _fresh(node, namespace: str) -> str:
    """A prefix that nothing in scope at ``node`` binds yet."""
    prefix = _HINTS.get(namespace, "ns")
    while prefix_bound(node, prefix):
        prefix += "x"
    return prefix


def prefix_bound(node, prefix: str) -> bool:
    while node is not None and node.nodeType == Node.ELEMENT_NODE:
        if node.hasAttribute(f"xmlns:{prefix}"):
            return True
        node = node.parentNode
    return False


def create(parent, namespace: str, local: str, attributes: dict | None = None, text=None):
    """A new element for ``parent`` (not yet inserted), named with the prefix
    ``parent`` binds to ``namespace`` (declared on the element when none is).

    ``attributes`` maps a name, or ``(namespace, local)`` for a namespaced one
    such as ``r:id``, to its value.
    """
    doc = parent.ownerDocument
    # Declarations the new element itself must carry: prefix -> namespace.
    own: dict[str, str] = {}

    def prefix_for(uri: str, for_attribute: bool) -> str:
        for p, bound in own.items():
            if bound == uri:
                return p
        p = prefix_in_scope(parent, uri, for_attribute)
        if p is None or p in own:
            p = _fresh(parent, uri)
            while p in own:
                p += "x"
            own[p] = uri
        return p

    prefix = prefix_for(namespace, False)
    names = {}
    for key, value in (attributes or {}).items():
        if isinstance(key, tuple):
            uri, name = key
            names[f"{prefix_for(uri, True)}:{name}", uri] = value
        else:
            names[key, None] = value
    element = doc.createElementNS(namespace, f"{prefix}:{local}" if prefix else local)
    for p, uri in own.items():
        element.setAttributeNS(XMLNS, f"xmlns:{p}", uri)
    for (name, uri), value in names.items():
        if uri is None:
            element.setAttribute(name, str(value))
        else:
            element.setAttributeNS(uri, name, str(value))
    if text is not None:
        element.appendChild(doc.createTextNode(str(text)))
    return element


def append(parent, namespace: str, local: str, attributes: dict | None = None, text=None):
    """:func:`create` an element and append it to ``parent``; return it."""
    return parent.appendChild(create(parent, namespace, local, attributes, text))


def copy_into(parent, source):
    """Copy element ``source`` (from any document) under ``parent``, each element
    and attribute renamed to the prefixes in scope at ``parent``."""
    attributes = {}
    for name, value in source.attributes.items():
        attr = source.getAttributeNode(name)
        if name == "xmlns" or name.startswith("xmlns:"):
            continue
        key = (attr.namespaceURI, attr.localName) if attr.namespaceURI else name
        attributes[key] = value
    element = create(parent, source.namespaceURI, source.localName, attributes)
    parent.appendChild(element)
    doc = parent.ownerDocument
    for node in source.childNodes:
        if node.nodeType == Node.ELEMENT_NODE:
            copy_into(element, node)
        elif node.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE):
            element.appendChild(doc.createTextNode(node.data))
    return element


# --- writing XML back -----------------------------------------------------------


def serialize(doc: minidom.Document) -> bytes:
    """The document as UTF-8 XML with the standalone declaration it was parsed with.

    Written here rather than with ``toxml`` because minidom leaves tabs and line
    breaks in attribute values unescaped, which a parser then reads as spaces.
    """
    out = io.StringIO()
    standalone = getattr(doc, "standalone", None)
    out.write('<?xml version="1.0" encoding="UTF-8"')
    if standalone is not None:
        out.write(f' standalone="{"yes" if standalone else "no"}"')
    out.write("?>\n")
    for node in doc.childNodes:
        _write(node, out)
    return out.getvalue().encode("utf-8")


_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def _write(node, out) -> None:
    kind = node.nodeType
    if kind == Node.ELEMENT_NODE:
        out.write(f"<{node.tagName}")
        for name, value in node.attributes.items():
            out.write(f' {name}="{value.translate(_ATTRIBUTE)}"')
        if not node.childNodes:
            out.write("/>")
            return
        out.write(">")
        for c in node.childNodes:
            _write(c, out)
        out.write(f"</{node.tagName}>")
    elif kind == Node.TEXT_NODE:
        out.write(node.data.translate(_TEXT))
    elif kind == Node.CDATA_SECTION_NODE:
        out.write(f"<![CDATA[{node.data}]]>")
    elif kind == Node.COMMENT_NODE:
        out.write(f"<!--{node.data}-->")
    elif kind == Node.PROCESSING_INSTRUCTION_NODE:
        out.write(f"<?{node.target} {node.data}?>")
