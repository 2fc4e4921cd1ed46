// Lotsen console chat: posts a question to the API's chat endpoint and renders the
// Server-Sent Events stream as it arrives (tokens, then the whole answer), then asks the
// console for the answer's evidence (tool calls, linked entities) as server-rendered HTML.
(function () {
  "use strict";
  const form = document.getElementById("ask");
  if (!form) { return; }
  const log = document.getElementById("log");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  const evidence = document.getElementById("evidence");
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  const api = form.dataset.api;
  let thread = form.dataset.thread || "";

  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  async function detail(response) {
    try { const body = await response.json(); return body.detail || response.statusText; }
    catch (e) { return response.statusText || ("HTTP " + response.status); }
  }

  async function ensureThread(question) {
    if (thread) { return thread; }
    const r = await fetch(api + "/threads", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({title: question.slice(0, 80)}),
    });
    if (!r.ok) { throw new Error(await detail(r)); }
    const body = await r.json();
    thread = body.id;
    document.getElementById("thread").textContent = thread;
    history.replaceState(null, "", "?thread=" + encodeURIComponent(thread));
    return thread;
  }

  function parseEvents(buffer, onEvent) {
    // SSE: events separated by a blank line; fields "event:" and "data:" (data may repeat).
    const parts = buffer.replace(/\r\n/g, "\n").split("\n\n");
    const rest = parts.pop();
    for (const part of parts) {
      let event = "message";
      const data = [];
      for (const line of part.split("\n")) {
        if (line.startsWith("event:")) { event = line.slice(6).trim(); }
        else if (line.startsWith("data:")) { data.push(line.slice(5).replace(/^ /, "")); }
      }
      if (data.length) { onEvent(event, data.join("\n")); }
    }
    return rest;
  }

  async function showEvidence(answer) {
    const r = await fetch(form.dataset.evidence, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(answer),
    });
    if (r.ok) { evidence.innerHTML = await r.text(); }
  }

  function evidenceOf(reply) {
    // The API's `answer` event: {thread, question, reply: {text, answer: {...}}, queued_approvals}.
    const a = (reply.reply && reply.reply.answer) || {};
    return {
      tier: a.tier || "tier0", intent: a.intent || null, entities: a.entities || [],
      tool_calls: a.tool_calls || [], proposals: a.proposals || [],
      approvals: reply.queued_approvals || [],
    };
  }

  async function ask(question) {
    bubble("user", question);
    const out = bubble("assistant", "");
    out.classList.add("streaming");
    let reply = null;
    let failure = null;
    const id = await ensureThread(question);
    const r = await fetch(api + "/threads/" + encodeURIComponent(id) + "/messages", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": csrf},
      body: JSON.stringify({text: question}),
    });
    if (!r.ok) { out.remove(); throw new Error(await detail(r)); }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const onEvent = function (event, raw) {
      let data = raw;
      try { data = JSON.parse(raw); } catch (e) { /* plain text */ }
      if (event === "token") {
        out.textContent += (typeof data === "string" ? data : data.text || "");
        log.scrollTop = log.scrollHeight;
      } else if (event === "answer") {
        reply = data;
        if (data.reply && data.reply.text) { out.textContent = data.reply.text; }
      } else if (event === "error") {
        failure = typeof data === "string" ? data : (data.detail || raw);
      }
    };
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) { break; }
      buffer = parseEvents(buffer + decoder.decode(chunk.value, {stream: true}), onEvent);
    }
    parseEvents(buffer + "\n\n", onEvent);
    out.classList.remove("streaming");
    if (failure) { throw new Error(failure); }
    out.dataset.done = "true";
    if (reply) { await showEvidence(evidenceOf(reply)); }
    listThreads().catch(function () { /* the list is a convenience */ });
  }

  async function loadThread() {
    // Reopening /console/chat?thread=ID shows the conversation so far.
    if (!thread) { return; }
    const r = await fetch(api + "/threads/" + encodeURIComponent(thread), {credentials: "same-origin"});
    if (!r.ok) { bubble("error", await detail(r)); thread = ""; return; }
    const body = await r.json();
    let last = null;
    for (const m of body.messages || []) {
      const b = bubble(m.role === "user" ? "user" : "assistant", m.text);
      if (m.role !== "user") { b.dataset.done = "true"; last = m; }
    }
    if (last && last.answer) { await showEvidence(evidenceOf({reply: last})); }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const question = input.value.trim();
    if (!question) { return; }
    input.value = "";
    send.disabled = true;
    ask(question).catch(function (err) { bubble("error", String(err.message || err)); })
      .finally(function () { send.disabled = false; input.focus(); });
  });
  async function listThreads() {
    const list = document.getElementById("thread-list");
    if (!list) { return; }
    const r = await fetch(api + "/threads", {credentials: "same-origin"});
    if (!r.ok) { return; }
    const threads = await r.json();
    list.textContent = "";
    for (const t of threads.slice(0, 20)) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "?thread=" + encodeURIComponent(t.id);
      a.textContent = t.title + " · " + String(t.updated_at).slice(0, 16).replace("T", " ");
      li.appendChild(a);
      list.appendChild(li);
    }
    if (!threads.length) { list.innerHTML = "<li class='muted'>none yet</li>"; }
  }

  listThreads().catch(function () { /* the list is a convenience */ });
  loadThread().catch(function (err) { bubble("error", String(err.message || err)); });
})();
