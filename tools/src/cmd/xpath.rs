//! `inspect --xpath QUERY` (virt-inspector's `--xpath`): an XPath 1.0 query over the XML on
//! standard input, usually virt-inspector's own output from an earlier run. The results print
//! as virt-inspector prints them: each node of a node-set as its own indented XML document
//! (an attribute as ` name="value"`, a text node as its text), a string as it is, a number or
//! boolean as XPath's `string()` of it; each followed by a newline.
//!
//! The input is read as virt-inspector reads it: whitespace-only text between elements is
//! not part of the document, so `//text()` finds only what a person would call text.

// sxd-document's nodes hash and compare by identity (a pointer into the document), not by
// their contents, so a node is a sound map key although the document behind it can change.
#![allow(clippy::mutable_key_type)]

use crate::error::{stdout, CliError, Result};
use std::io::{Read, Write};
use sxd_document::dom::{ChildOfElement, ChildOfRoot, Element};
use sxd_document::QName;
use sxd_xpath::nodeset::Node;
use sxd_xpath::{Context, Factory, Value};

/// Runs the query over standard input and prints the result on standard output.
pub fn run(query: &str) -> Result {
    let mut xml = String::new();
    let read = std::io::stdin().read_to_string(&mut xml);
    let text = query_xml(read.map(|_| xml).map_err(|e| e.to_string()), query)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).map_err(stdout)?;
    out.flush().map_err(stdout)
}

/// What `--xpath QUERY` prints for the XML `input`, or virt-inspector's error.
fn query_xml(input: std::result::Result<String, String>, query: &str) -> Result<String> {
    let parse_error = |detail: String| {
        CliError::AsReference(format!(
            "virt-inspector: {detail}\nvirt-inspector: unable to parse XML from stdin"
        ))
    };
    let xml = input.map_err(parse_error)?;
    let tree = roxmltree::Document::parse_with_options(
        &xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .map_err(|e| parse_error(format!("parser error : {e}")))?;
    let package = sxd_document::Package::new();
    let mut decls = Declarations::new();
    let doc = package.as_document();
    for child in tree.root().children() {
        match child.node_type() {
            roxmltree::NodeType::Element => {
                let e = copy_element(doc, child, &mut decls);
                doc.root().append_child(e);
                drop_blanks(e);
            }
            roxmltree::NodeType::Comment => {
                doc.root()
                    .append_child(doc.create_comment(child.text().unwrap_or("")));
            }
            roxmltree::NodeType::PI => {
                let pi = child.pi().expect("a processing instruction");
                doc.root()
                    .append_child(doc.create_processing_instruction(pi.target, pi.value));
            }
            _ => {}
        }
    }
    let eval_error = |detail: String| {
        CliError::AsReference(format!(
            "XPath error : {detail}\n{query}\nvirt-inspector: unable to evaluate XPath expression"
        ))
    };
    let xpath = Factory::new()
        .build(query)
        .map_err(|e| eval_error(e.to_string()))?
        .ok_or_else(|| eval_error("Invalid expression".into()))?;
    let value = xpath
        .evaluate(&Context::new(), doc.root())
        .map_err(|e| eval_error(e.to_string()))?;
    Ok(match value {
        Value::Nodeset(nodes) => {
            let mut out = String::new();
            for node in in_document_order(nodes) {
                node_xml(node, &decls, &mut out);
                out.push('\n');
            }
            out
        }
        Value::String(s) if s.is_empty() || s.ends_with('\n') => s,
        Value::String(s) => s + "\n",
        Value::Boolean(b) => format!("{b}\n"),
        Value::Number(n) => format!("{}\n", number(n)),
    })
}

/// A namespace declaration: prefix (none for the default namespace) and URI.
type Ns = (Option<String>, String);

/// The namespace declarations written on each element, in their order.
type Declarations<'d> = std::collections::HashMap<Element<'d>, Vec<Ns>>;

/// The document as XPath sees it, from roxmltree's parse (which keeps the order of
/// attributes, as virt-inspector's output shows them; sxd-document's own parser sorts them).
fn copy_element<'d>(
    doc: sxd_document::dom::Document<'d>,
    node: roxmltree::Node,
    decls: &mut Declarations<'d>,
) -> Element<'d> {
    let tag = node.tag_name();
    let e = doc.create_element(QName::with_namespace_uri(tag.namespace(), tag.name()));
    // The declarations written on this element: those in scope here and not in its parent.
    let parent_scope: Vec<_> = node
        .parent_element()
        .map(|p| p.namespaces().map(|n| (n.name(), n.uri())).collect())
        .unwrap_or_default();
    let here: Vec<Ns> = node
        .namespaces()
        .filter(|n| n.name() != Some("xml") && !parent_scope.contains(&(n.name(), n.uri())))
        .map(|n| (n.name().map(str::to_string), n.uri().to_string()))
        .collect();
    let prefix_of = |uri: &str| node.lookup_prefix(uri);
    if let Some(uri) = tag.namespace() {
        e.set_preferred_prefix(prefix_of(uri));
    }
    for a in node.attributes() {
        let attr = e.set_attribute_value(
            QName::with_namespace_uri(a.namespace(), a.name()),
            a.value(),
        );
        attr.set_preferred_prefix(a.namespace().and_then(prefix_of));
    }
    decls.insert(e, here);
    for child in node.children() {
        match child.node_type() {
            roxmltree::NodeType::Element => e.append_child(copy_element(doc, child, decls)),
            roxmltree::NodeType::Text => {
                e.append_child(doc.create_text(child.text().unwrap_or("")))
            }
            roxmltree::NodeType::Comment => {
                e.append_child(doc.create_comment(child.text().unwrap_or("")))
            }
            roxmltree::NodeType::PI => {
                let pi = child.pi().expect("a processing instruction");
                e.append_child(doc.create_processing_instruction(pi.target, pi.value))
            }
            roxmltree::NodeType::Root => {}
        }
    }
    e
}

/// The nodes in document order, with the attributes of one element in the order they are
/// written (sxd-xpath orders an element's attributes by name).
fn in_document_order(nodes: sxd_xpath::nodeset::Nodeset) -> Vec<Node> {
    let mut nodes = nodes.document_order();
    let mut start = 0;
    while start < nodes.len() {
        let Node::Attribute(first) = nodes[start] else {
            start += 1;
            continue;
        };
        let parent = first.parent();
        let end = nodes[start..]
            .iter()
            .position(|n| !matches!(n, Node::Attribute(a) if a.parent() == parent))
            .map_or(nodes.len(), |len| start + len);
        if let Some(parent) = parent {
            let order = parent.attributes();
            nodes[start..end].sort_by_key(|n| match n {
                Node::Attribute(a) => order.iter().position(|o| o == a),
                _ => None,
            });
        }
        start = end;
    }
    nodes
}

/// Removes the whitespace-only text that only lays elements out (virt-inspector parses with
/// libxml2's XML_PARSE_NOBLANKS). Whitespace stays where it is content: an element with
/// nothing else inside, or mixed content that begins with or follows other text.
fn drop_blanks(e: Element) {
    let children = e.children();
    let first_is_text =
        matches!(children.first(), Some(ChildOfElement::Text(t)) if !is_blank(t.text()));
    let only_text = children
        .iter()
        .all(|c| matches!(c, ChildOfElement::Text(_)));
    let mut prev_text = false;
    for child in children {
        match child {
            ChildOfElement::Text(t) => {
                if is_blank(t.text()) && !only_text && !first_is_text && !prev_text {
                    t.remove_from_parent();
                } else {
                    prev_text = true;
                }
            }
            ChildOfElement::Element(inner) => {
                prev_text = false;
                drop_blanks(inner);
            }
            _ => prev_text = false,
        }
    }
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// One result node as virt-inspector prints it (libxml2's formatted serialisation of a copy
/// of the node, without the XML declaration).
fn node_xml(node: Node, decls: &Declarations, out: &mut String) {
    match node {
        Node::Root(r) => {
            // The document: each of its top-level nodes on a line.
            for child in r.children() {
                match child {
                    ChildOfRoot::Element(e) => top_element(e, decls, out),
                    ChildOfRoot::Comment(c) => out.push_str(&format!("<!--{}-->", c.text())),
                    ChildOfRoot::ProcessingInstruction(p) => pi(p.target(), p.value(), out),
                }
                out.push('\n');
            }
        }
        Node::Element(e) => top_element(e, decls, out),
        // An attribute alone prints without its prefix, as libxml2 writes a copied one.
        Node::Attribute(a) => attribute(None, a.name().local_part(), a.value(), out),
        Node::Text(t) => out.push_str(&escape(t.text(), false)),
        Node::Comment(c) => out.push_str(&format!("<!--{}-->", c.text())),
        Node::ProcessingInstruction(p) => pi(p.target(), p.value(), out),
        Node::Namespace(ns) => declaration(Some(ns.prefix()), ns.uri(), out),
    }
}

fn pi(target: &str, value: Option<&str>, out: &mut String) {
    match value {
        Some(v) => out.push_str(&format!("<?{target} {v}?>")),
        None => out.push_str(&format!("<?{target}?>")),
    }
}

fn qualified(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_string(),
    }
}

fn attribute(prefix: Option<&str>, local: &str, value: &str, out: &mut String) {
    out.push(' ');
    out.push_str(&qualified(prefix, local));
    out.push_str("=\"");
    out.push_str(&escape(value, true));
    out.push('"');
}

fn declaration(prefix: Option<&str>, uri: &str, out: &mut String) {
    match prefix {
        Some(p) => out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(uri, true))),
        None => out.push_str(&format!(" xmlns=\"{}\"", escape(uri, true))),
    }
}

/// An element copied out of its document: the namespaces it and its content use that were
/// declared outside it are declared on it, after its own declarations (as libxml2's copy
/// reconciles them).
fn top_element(e: Element, decls: &Declarations, out: &mut String) {
    let mut own = decls.get(&e).cloned().unwrap_or_default();
    let mut scope: Vec<Ns> = Vec::new();
    reconcile(e, decls, &mut scope, &mut own);
    element(e, &own, decls, 0, true, out);
}

/// Adds to `top` the namespaces `e`'s subtree uses that no element of the copy declares.
fn reconcile(e: Element, decls: &Declarations, scope: &mut Vec<Ns>, top: &mut Vec<Ns>) {
    let depth = scope.len();
    scope.extend(decls.get(&e).cloned().unwrap_or_default());
    let mut used = Vec::new();
    if let Some(uri) = e.name().namespace_uri() {
        used.push((e.preferred_prefix().map(str::to_string), uri.to_string()));
    }
    for a in e.attributes() {
        if let (Some(uri), Some(p)) = (a.name().namespace_uri(), a.preferred_prefix()) {
            used.push((Some(p.to_string()), uri.to_string()));
        }
    }
    for ns in used {
        let declared = |list: &[Ns]| list.iter().rev().any(|d| d.0 == ns.0);
        if !declared(scope) && !declared(top) {
            top.push(ns);
        }
    }
    for child in e.children() {
        if let ChildOfElement::Element(inner) = child {
            reconcile(inner, decls, scope, top);
        }
    }
    scope.truncate(depth);
}

/// An element, its attributes and its content; children go on lines of their own, indented
/// by two spaces a level, unless the element holds text (then nothing inside it is laid out).
fn element(
    e: Element,
    own: &[Ns],
    decls: &Declarations,
    level: usize,
    format: bool,
    out: &mut String,
) {
    out.push('<');
    let name = qualified(e.preferred_prefix(), e.name().local_part());
    out.push_str(&name);
    for (prefix, uri) in own {
        declaration(prefix.as_deref(), uri, out);
    }
    for a in e.attributes() {
        attribute(a.preferred_prefix(), a.name().local_part(), a.value(), out);
    }
    let children = e.children();
    if children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let format = format
        && !children
            .iter()
            .any(|c| matches!(c, ChildOfElement::Text(_)));
    if format {
        out.push('\n');
    }
    for child in children {
        if format {
            out.push_str(&"  ".repeat(level + 1));
        }
        match child {
            ChildOfElement::Element(inner) => {
                let own = decls.get(&inner).map(Vec::as_slice).unwrap_or_default();
                element(inner, own, decls, level + 1, format, out)
            }
            ChildOfElement::Text(t) => out.push_str(&escape(t.text(), false)),
            ChildOfElement::Comment(c) => out.push_str(&format!("<!--{}-->", c.text())),
            ChildOfElement::ProcessingInstruction(p) => pi(p.target(), p.value(), out),
        }
        if format {
            out.push('\n');
        }
    }
    if format {
        out.push_str(&"  ".repeat(level));
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Escapes text as libxml2 writes a document that has no encoding: markup characters as
/// entities, everything outside ASCII as a hexadecimal character reference; in an attribute
/// also `"` and the whitespace characters that attribute normalisation would lose.
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#x{:X};", c as u32)),
        }
    }
    out
}

/// A number as libxml2's XPath writes it: an integer as one, other values with up to 15
/// significant digits, in exponent notation outside 1e-5 ..= 1e9, trailing zeros removed.
fn number(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    if n > f64::from(i32::MIN) && n < f64::from(i32::MAX) && n == n.trunc() {
        return format!("{}", n as i32);
    }
    let abs = n.abs();
    if !(1e-5..=1e9).contains(&abs) {
        // C's "%.14e": a two-digit (at least) signed exponent.
        let s = format!("{n:.14e}");
        let (mantissa, exp) = s.split_once('e').expect("exponent notation");
        let exp: i32 = exp.parse().expect("exponent");
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim_zeros(mantissa), exp.abs());
    }
    let integer_digits = abs.log10() as i32;
    let fraction = if integer_digits > 0 {
        14 - integer_digits
    } else {
        15 - integer_digits
    };
    trim_zeros(&format!("{n:.*}", fraction.max(0) as usize)).to_string()
}

/// `1.500` → `1.5`, `2.000` → `2`.
fn trim_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<?xml version=\"1.0\"?>\n<operatingsystems>\n  <operatingsystem>\n    \
        <name>linux</name>\n    <product_name>Caf&#xE9; &amp; \"x\" &lt;y&gt;</product_name>\n    \
        <filesystems>\n      <filesystem dev=\"/dev/sda1\" a=\"q&quot;&amp;&lt;'\">\n        \
        <type>ext4</type>\n        <label/>\n        <uuid></uuid>\n      </filesystem>\n      \
        <filesystem dev=\"/dev/sda2\">\n        <type>xfs</type>\n      </filesystem>\n    \
        </filesystems>\n    <mixed>text <b>bold</b> tail</mixed>\n  </operatingsystem>\n\
        </operatingsystems>\n";

    fn q(query: &str) -> String {
        query_xml(Ok(XML.to_string()), query).unwrap()
    }

    // Every expected value here is what virt-inspector 1.48 printed for the same XML and query.
    #[test]
    fn node_sets_print_as_virt_inspector_prints_them() {
        assert_eq!(
            q("//filesystems"),
            "<filesystems>\n  <filesystem dev=\"/dev/sda1\" a=\"q&quot;&amp;&lt;'\">\n    \
             <type>ext4</type>\n    <label/>\n    <uuid/>\n  </filesystem>\n  \
             <filesystem dev=\"/dev/sda2\">\n    <type>xfs</type>\n  </filesystem>\n\
             </filesystems>\n"
        );
        assert_eq!(
            q("//filesystem/@dev"),
            " dev=\"/dev/sda1\"\n dev=\"/dev/sda2\"\n"
        );
        assert_eq!(q("//type/text()"), "ext4\nxfs\n");
        assert_eq!(
            q("//product_name"),
            "<product_name>Caf&#xE9; &amp; \"x\" &lt;y&gt;</product_name>\n"
        );
        assert_eq!(q("//b/.."), "<mixed>text <b>bold</b> tail</mixed>\n");
        assert_eq!(q("//nothing"), "");
        assert_eq!(
            q("(//filesystem)[2]"),
            "<filesystem dev=\"/dev/sda2\">\n  <type>xfs</type>\n</filesystem>\n"
        );
    }

    #[test]
    fn other_values_print_as_strings() {
        assert_eq!(q("string(//filesystem[@dev='/dev/sda1']/type)"), "ext4\n");
        assert_eq!(q("string(//nothing)"), "");
        assert_eq!(q("name(/*)"), "operatingsystems\n");
        assert_eq!(q("count(//filesystem)"), "2\n");
        assert_eq!(q("boolean(//type)"), "true\n");
        assert_eq!(q("1 div 3"), "0.333333333333333\n");
        assert_eq!(q("1 div 0"), "Infinity\n");
        assert_eq!(q("-1 div 0"), "-Infinity\n");
        assert_eq!(q("0 div 0"), "NaN\n");
        assert_eq!(q("100000000000000000000"), "1e+20\n");
        assert_eq!(q("12345678901234567"), "1.23456789012346e+16\n");
        assert_eq!(q("0.1"), "0.1\n");
    }

    #[test]
    fn blank_text_is_dropped_only_where_it_lays_elements_out() {
        let xml = "<a>\n  <b>  </b>\n  <c> x <d/> </c><e><!-- hi --><?pi x?></e></a>";
        assert_eq!(
            query_xml(Ok(xml.into()), "/a").unwrap(),
            "<a>\n  <b>  </b>\n  <c> x <d/> </c>\n  <e>\n    <!-- hi -->\n    <?pi x?>\n  </e>\n</a>\n"
        );
        assert_eq!(
            query_xml(Ok(xml.into()), "//text()").unwrap(),
            "  \n x \n \n"
        );
    }

    #[test]
    fn errors_are_virt_inspectors() {
        let Err(CliError::AsReference(m)) = query_xml(Ok(XML.into()), "//[") else {
            panic!("a bad query is an error")
        };
        assert!(
            m.ends_with("virt-inspector: unable to evaluate XPath expression"),
            "{m}"
        );
        let Err(CliError::AsReference(m)) = query_xml(Ok("<a>".into()), "//a") else {
            panic!("bad XML is an error")
        };
        assert!(
            m.ends_with("virt-inspector: unable to parse XML from stdin"),
            "{m}"
        );
    }
}
