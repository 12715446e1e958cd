// Renders the OpenAPI document as a searchable list of operations.
"use strict";

const content = document.getElementById("content");
const filter = document.getElementById("filter");
let spec = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function resolve(schema, depth = 0) {
  if (!schema || depth > 6) return schema;
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return resolve(spec.components.schemas[name], depth + 1);
  }
  const out = Array.isArray(schema) ? [] : {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = v && typeof v === "object" ? resolve(v, depth + 1) : v;
  }
  return out;
}

function schemaBlock(title, schema) {
  return [el("h4", {}, title), el("pre", {}, JSON.stringify(resolve(schema), null, 2))];
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
  for (const [tag, ops] of byTag) {
    content.append(el("h2", {}, tag));
    for (const { path, method, op } of ops) {
      const body = el("div", { class: "body" });
      if (op.description) body.append(el("p", {}, op.description));
      if (op.security) body.append(el("p", {}, "Auth: " + op.security.map((s) => Object.keys(s).join(", ")).join(" or ")));
      for (const p of op.parameters || []) {
        body.append(el("p", {}, `${p.in} parameter ${p.name}${p.required ? " (required)" : ""}`));
      }
      const req = op.requestBody && op.requestBody.content;
      if (req) for (const [ct, media] of Object.entries(req)) body.append(...schemaBlock(`Request ${ct}`, media.schema));
      for (const [status, resp] of Object.entries(op.responses || {})) {
        body.append(el("h4", {}, `Response ${status}: ${resp.description || ""}`));
        for (const [ct, media] of Object.entries(resp.content || {})) {
          if (media.schema) body.append(...schemaBlock(ct, media.schema));
        }
      }
      const summary = el("summary", {}, el("span", { class: `method ${method}` }, method), " ", el("code", {}, path), " ", op.summary || "");
      content.append(el("details", { class: "op" }, summary, body));
    }
  }
}

fetch("/api/v1/openapi.json")
  .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
  .then((s) => {
    spec = s;
    render("");
  })
  .catch((e) => content.replaceChildren(el("p", { role: "alert" }, `Could not load the specification: ${e.message}`)));

filter.addEventListener("input", () => spec && render(filter.value.trim().toLowerCase()));
