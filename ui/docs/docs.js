// Renders the OpenAPI document as a searchable list of operations: each with
// its description (Markdown), an example request (curl), its parameters,
// request and response fields.
"use strict";

const content = document.getElementById("content");
const filter = document.getElementById("filter");
const intro = document.getElementById("intro");
let spec = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Inline Markdown: `code`, **bold**, *emphasis*, [text](url). Built as DOM
// nodes, never as HTML, so text from the document cannot inject markup.
function inline(text) {
  const out = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    if (m[1] !== undefined) out.push(el("code", {}, m[1]));
    else if (m[2] !== undefined) out.push(el("strong", {}, ...inline(m[2])));
    else if (m[3] !== undefined) out.push(el("em", {}, ...inline(m[3])));
    else {
      const href = /^(https?:\/\/|\/|#)/.test(m[5]) ? m[5] : "#";
      out.push(el("a", { href }, ...inline(m[4])));
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

// Block Markdown: paragraphs separated by blank lines, `- ` lists, fenced code.
function markdown(text) {
  const frag = document.createDocumentFragment();
  const lines = String(text || "").split("\n");
  let para = [];
  let list = null;
  let code = null;
  const flush = () => {
    if (para.length) frag.append(el("p", {}, ...inline(para.join(" "))));
    para = [];
    list = null;
  };
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (code) {
      if (line.trim().startsWith("```")) {
        frag.append(el("pre", {}, code.join("\n")));
        code = null;
      } else code.push(raw);
      continue;
    }
    if (line.trim().startsWith("```")) {
      flush();
      code = [];
    } else if (/^\s*[-*] /.test(line)) {
      if (para.length) flush();
      if (!list) {
        list = el("ul");
        frag.append(list);
      }
      list.append(el("li", {}, ...inline(line.replace(/^\s*[-*] /, ""))));
    } else if (line.trim() === "") {
      flush();
    } else if (list && /^\s+/.test(raw)) {
      list.lastChild.append(" ", ...inline(line.trim()));
    } else {
      list = null;
      para.push(line.trim());
    }
  }
  if (code) frag.append(el("pre", {}, code.join("\n")));
  flush();
  return frag;
}

function refName(schema) {
  return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
}

function lookup(schema) {
  const name = refName(schema);
  return name ? spec.components.schemas[name] || {} : schema || {};
}

// A short type label: `string`, `integer`, `DocumentType (driver_license | …)`, `array of X`.
function typeLabel(schema, depth = 0) {
  if (!schema) return "any";
  const name = refName(schema);
  const s = lookup(schema);
  if (s.enum) return `${name ? name + ": " : ""}${s.enum.join(" | ")}`;
  if (depth < 4) {
    for (const key of ["oneOf", "anyOf", "allOf"]) {
      if (s[key]) {
        const parts = s[key].filter((v) => lookup(v).type !== "null").map((v) => typeLabel(v, depth + 1));
        const nullable = s[key].some((v) => lookup(v).type === "null");
        return parts.join(" or ") + (nullable ? " or null" : "");
      }
    }
  }
  let type = Array.isArray(s.type) ? s.type.join(" or ") : s.type || (s.properties ? "object" : "any");
  if (s.format) type += ` (${s.format})`;
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    type = `array of ${depth < 4 ? typeLabel(s.items, depth + 1) : "…"}`;
  }
  return name && !s.enum && s.properties ? `${name} object` : type;
}

// Rows of a field table, nested objects indented below their field.
function fieldRows(schema, prefix, depth, rows, seen) {
  const s = lookup(schema);
  const name = refName(schema);
  if (depth > 4 || (name && seen.has(name))) return;
  const nextSeen = name ? new Set([...seen, name]) : seen;
  const variants = (s.oneOf || s.anyOf || s.allOf || []).filter((v) => lookup(v).type !== "null");
  if (!s.properties && variants.length === 1) return fieldRows(variants[0], prefix, depth, rows, nextSeen);
  const items = s.type === "array" || (Array.isArray(s.type) && s.type.includes("array")) ? s.items : null;
  if (items) return fieldRows(items, prefix ? `${prefix}[]` : "[]", depth, rows, nextSeen);
  const required = new Set(s.required || []);
  for (const [key, prop] of Object.entries(s.properties || {})) {
    const field = prefix ? `${prefix}.${key}` : key;
    const description = prop.description || lookup(prop).description || "";
    rows.push(
      el(
        "tr",
        {},
        el("td", {}, el("code", {}, field)),
        el("td", {}, typeLabel(prop)),
        el("td", {}, required.has(key) ? "required" : ""),
        el("td", {}, markdown(description)),
      ),
    );
    fieldRows(prop, field, depth + 1, rows, nextSeen);
  }
}

function fieldTable(title, schema) {
  const rows = [];
  fieldRows(schema, "", 0, rows, new Set());
  const block = [el("h4", {}, title)];
  if (rows.length === 0) {
    block.push(el("p", {}, typeLabel(schema)));
    return block;
  }
  const head = el("tr", {}, el("th", {}, "Field"), el("th", {}, "Type"), el("th", {}, ""), el("th", {}, "Description"));
  block.push(el("table", { class: "fields" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  return block;
}

const AUTH_TEXT = {
  bearer: "an API key: Authorization: Bearer <key>",
  sdk_client: "the end user's SDK: X-Client-Id header with the client's public id",
  admin_session: "an admin UI login session cookie (writes also need X-CSRF-Token)",
};

function operation(path, method, op) {
  const body = el("div", { class: "body" });
  if (op.description) body.append(markdown(op.description));
  const auth = (op.security || []).map((s) => Object.keys(s)).filter((k) => k.length);
  if (auth.length) {
    const optional = (op.security || []).some((s) => Object.keys(s).length === 0);
    body.append(el("p", {}, `Authentication${optional ? " (optional)" : ""}: ` + auth.map((k) => k.map((n) => AUTH_TEXT[n] || n).join(" and ")).join(", or ")));
  }
  const sample = (op["x-codeSamples"] || [])[0];
  if (sample) body.append(el("h4", {}, "Example request"), el("pre", { class: "example" }, sample.source));
  const params = op.parameters || [];
  if (params.length) {
    const rows = params.map((p) =>
      el(
        "tr",
        {},
        el("td", {}, el("code", {}, p.name)),
        el("td", {}, `${p.in}, ${typeLabel(p.schema)}`),
        el("td", {}, p.required ? "required" : ""),
        el("td", {}, markdown(p.description || "")),
      ),
    );
    body.append(el("h4", {}, "Parameters"), el("table", { class: "fields" }, el("tbody", {}, ...rows)));
  }
  const req = op.requestBody && op.requestBody.content;
  if (req) for (const [ct, media] of Object.entries(req)) body.append(...fieldTable(`Request body (${ct})`, media.schema));
  const responses = el("dl", { class: "responses" });
  for (const [status, resp] of Object.entries(op.responses || {})) {
    const dd = el("dd", {}, markdown(resp.description || ""));
    for (const [ct, media] of Object.entries(resp.content || {})) {
      if (!media.schema) continue;
      if (ct === "application/problem+json") {
        dd.append(el("p", {}, "Body: a ", el("a", { href: "#problems" }, "problem"), ` (${ct}).`));
      } else {
        const details = el("details", {}, el("summary", {}, `Body (${ct})`));
        for (const n of fieldTable("Fields", media.schema)) details.append(n);
        dd.append(details);
      }
    }
    responses.append(el("dt", {}, status), dd);
  }
  body.append(el("h4", {}, "Responses"), responses);
  const summary = el("summary", {}, el("span", { class: `method ${method}` }, method), " ", el("code", {}, path), " ", ...inline(op.summary || ""));
  return el("details", { class: "op", id: op.operationId || `${method}-${path}` }, summary, body);
}

function render(term) {
  content.replaceChildren();
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      const text = `${method} ${path} ${tag} ${op.summary || ""} ${op.description || ""}`.toLowerCase();
      if (term && !text.includes(term)) continue;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  if (byTag.size === 0) {
    content.append(el("p", {}, "No operation matches."));
    return;
  }
  const tagInfo = new Map((spec.tags || []).map((t) => [t.name, t.description || ""]));
  for (const [tag, ops] of byTag) {
    content.append(el("h2", {}, tag));
    if (tagInfo.get(tag)) content.append(markdown(tagInfo.get(tag)));
    for (const { path, method, op } of ops) content.append(operation(path, method, op));
  }
}

fetch("/api/v1/openapi.json")
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then((s) => {
    spec = s;
    if (intro && s.info && s.info.description) intro.replaceChildren(markdown(s.info.description));
    render("");
    document.body.dataset.ready = "true";
  })
  .catch((e) => content.replaceChildren(el("p", { role: "alert" }, `Could not load the API reference: ${e.message}`)));

filter.addEventListener("input", () => spec && render(filter.value.trim().toLowerCase()));
