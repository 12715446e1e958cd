//! A small streaming reader for the XML lists: the document is read once
//! and only each record element (one listed person or entity) is built
//! into a tree, so a large file never sits in memory as a whole tree.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One element: local name (namespace prefix dropped), attributes, text
/// and child elements.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child of that name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child of that name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text, `None` when blank.
    pub fn value(&self) -> Option<&str> {
        let t = self.text.trim();
        (!t.is_empty()).then_some(t)
    }

    /// The trimmed text of the first child of that name, `None` when blank.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(Element::value)
    }

    /// An attribute's trimmed value, `None` when absent or blank.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

fn local(name: &[u8]) -> String {
    let name = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(name).into_owned()
}

fn start(e: &BytesStart<'_>) -> Element {
    let attrs = e
        .attributes()
        .flatten()
        .map(|a| {
            let value = a.unescape_value().map(|v| v.into_owned()).unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
            (local(a.key.as_ref()), value)
        })
        .collect();
    Element { name: local(e.name().as_ref()), attrs, ..Default::default() }
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// The local name of the document's first element.
pub fn root_name(bytes: &[u8]) -> Option<String> {
    let mut reader = Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => return Some(local(e.name().as_ref())),
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
        buf.clear();
    }
}

/// Calls `f` with every element whose local name `is_record` accepts
/// (records do not nest). Malformed XML is an error naming the byte offset.
pub fn for_each_record(bytes: &[u8], is_record: impl Fn(&str) -> bool, mut f: impl FnMut(Element)) -> Result<(), String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    let mut buf = Vec::new();
    // The open elements of the current record, outermost first.
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let el = start(&e);
                if !stack.is_empty() || is_record(&el.name) {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => f(el),
                    }
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(el) = stack.last_mut() {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => entity(&r.decode().map_err(|e| e.to_string())?),
                    };
                    if let Some(c) = c {
                        el.text.push(c);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("XML ends inside a record".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_with_namespaces_entities_and_empty_elements() {
        let xml = br#"<?xml version="1.0"?><x:root xmlns:x="urn:a"><x:rec id="1"><name>A &amp; B&#33;</name><e/></x:rec><other/><x:rec id="2"/></x:root>"#;
        let mut got = vec![];
        for_each_record(xml, |n| n == "rec", |e| got.push(e)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].attr("id"), Some("1"));
        assert_eq!(got[0].text_of("name"), Some("A & B!"));
        assert!(got[0].child("e").is_some());
        assert_eq!(root_name(xml).as_deref(), Some("root"));
        assert!(for_each_record(b"<root><rec><a></rec></root>", |n| n == "rec", |_| {}).is_err());
    }
}
